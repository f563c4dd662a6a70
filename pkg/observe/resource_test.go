package observe

import (
	"testing"

	"github.com/edgeframe/edgeframe/pkg/version"
)

// The exported resource uses the semantic conventions (cloud.region, service.version) and lets
// OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME override what the flags set.
func TestResourceAttributes(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=gw-0,edge.layer=l3")
	t.Setenv("OTEL_SERVICE_NAME", "")
	res, err := Resource{Service: "datagateway", Layer: "l4", Region: "westeurope", Cluster: "edge-l4"}.resource()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range res.Attributes() {
		got[string(kv.Key)] = kv.Value.AsString()
	}
	want := map[string]string{
		"service.name": "datagateway", "service.version": version.Version, "cloud.region": "westeurope",
		"edge.region": "westeurope", "k8s.cluster.name": "edge-l4",
		"k8s.pod.name": "gw-0", "edge.layer": "l3", // the environment wins over the flags
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}
