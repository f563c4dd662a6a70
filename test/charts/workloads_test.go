package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// deployments decodes every Deployment of rendered files.
func deployments(t *testing.T, files map[string]string) []appsv1.Deployment {
	t.Helper()
	var out []appsv1.Deployment
	for _, o := range objects(t, chartrender.Manifests(files)) {
		if o.GetKind() != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func envOf(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// TestWorkloadsExportToTheLevelCollector: in every profile each workload exports OTLP to the
// collector the same profile installs (its Service and gRPC port), the workloads'
// NetworkPolicies let that traffic out, and the resource carries edge.layer; the collector
// stamps cloud.region (the semantic convention).
func TestWorkloadsExportToTheLevelCollector(t *testing.T) {
	checked := 0
	for _, p := range profiles(t) {
		var collector string
		var collectorPort, collectorPodPort int64
		for _, r := range p.Releases {
			if r.Chart != "observability" {
				continue
			}
			files := renderRelease(t, p, r)
			objs := objects(t, chartrender.Manifests(files))
			for _, o := range objs {
				if o.GetKind() != "Service" {
					continue
				}
				ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
				for _, port := range ports {
					pm := port.(map[string]any)
					if pm["name"] == "otlp-grpc" {
						collector = fmt.Sprintf("%s.%s.svc.cluster.local", o.GetName(), r.Namespace)
						collectorPort = toInt(pm["port"])
						collectorPodPort = podPort(t, objs, o.GetName(), collectorPort)
					}
				}
			}
			if cfg := configMapData(t, files, "otel-collector-config", "config.yaml"); !strings.Contains(cfg, "key: cloud.region") {
				t.Errorf("%s: the collector's resource processor does not set cloud.region", p.Name)
			}
		}
		if collector == "" {
			t.Fatalf("profile %s: no collector Service with an OTLP gRPC port", p.Name)
		}
		for _, r := range p.Releases {
			if r.Chart != "edge-workloads" {
				continue
			}
			files := renderRelease(t, p, r)
			objs := objects(t, chartrender.Manifests(files))
			for _, d := range deployments(t, files) {
				checked++
				app := d.Spec.Template.Spec.Containers[0]
				want := fmt.Sprintf("http://%s:%d", collector, collectorPort)
				if got, _ := envOf(app, "OTEL_EXPORTER_OTLP_ENDPOINT"); got != want {
					t.Errorf("%s %s/%s: OTEL_EXPORTER_OTLP_ENDPOINT %q, want the level's collector %q", p.Name, r.Namespace, d.Name, got, want)
				}
				if got, _ := envOf(app, "OTEL_RESOURCE_ATTRIBUTES"); !strings.Contains(got, "edge.layer=") {
					t.Errorf("%s %s/%s: OTEL_RESOURCE_ATTRIBUTES %q has no edge.layer", p.Name, r.Namespace, d.Name, got)
				}
			}
			if r.Namespace != "edge-system" && len(deployments(t, files)) > 0 && !egressAllows(t, objs, "edge-system", collectorPodPort) {
				t.Errorf("%s %s: the NetworkPolicies do not let the workloads reach the collector's pod port %d", p.Name, r.Namespace, collectorPodPort)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no workload checked")
	}
}

// egressAllows reports whether the NetworkPolicies in objs let pods reach TCP port (a pod
// port: policies see traffic after a Service's DNAT) in namespace.
func egressAllows(t *testing.T, objs []*unstructured.Unstructured, namespace string, port int64) bool {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "NetworkPolicy" {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "egress")
		for _, r := range rules {
			rm := r.(map[string]any)
			to, _, _ := unstructured.NestedSlice(rm, "to")
			reaches := false
			for _, peer := range to {
				ns, ok, _ := unstructured.NestedString(peer.(map[string]any), "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")
				reaches = reaches || (ok && ns == namespace)
			}
			if !reaches {
				continue
			}
			ports, found, _ := unstructured.NestedSlice(rm, "ports")
			if !found {
				return true
			}
			for _, p := range ports {
				if toInt(p.(map[string]any)["port"]) == port {
					return true
				}
			}
		}
	}
	return false
}

var fluxVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// TestGatewayWorkloadIdentityFromClientID: the application bundle passes only the federated
// identity's client id, on both delivery paths — Flux (gitops/l4/apps HelmRelease values, its
// postBuild variables substituted) and offline (scripts/helm-workloads.sh: the l4 profile plus
// --set-string datagateway.workloadIdentity.clientId) — and that alone makes the gateway use it:
// pod label, ServiceAccount client-id annotation, a mounted token. Without a client id the gateway
// keeps its credentials Secret.
func TestGatewayWorkloadIdentityFromClientID(t *testing.T) {
	const clientID = "11111111-2222-3333-4444-555555555555"
	subst := map[string]string{
		"datagatewayRepository": "ghcr.io/edgeframe/datagateway",
		"datagatewayDigest":     "sha256:" + strings.Repeat("a", 64),
		"gatewayClientId":       clientID,
	}
	hr, err := os.ReadFile(filepath.Join("..", "..", "gitops", "l4", "apps", "helmrelease-edge-workloads.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var release struct {
		Spec struct {
			Values map[string]any `json:"values"`
		} `json:"spec"`
	}
	text := fluxVar.ReplaceAllStringFunc(string(hr), func(m string) string { return subst[fluxVar.FindStringSubmatch(m)[1]] })
	if err := yaml.Unmarshal([]byte(text), &release); err != nil {
		t.Fatal(err)
	}
	offline := merge(releaseOf(t, profileNamed(t, "l4"), "edge-workloads").Values,
		map[string]any{"datagateway": map[string]any{"workloadIdentity": map[string]any{"clientId": clientID}}})
	none := merge(offline, map[string]any{"datagateway": map[string]any{"workloadIdentity": map[string]any{"clientId": ""}}})
	for _, c := range []struct {
		path string
		vals map[string]any
		want bool
	}{{"gitops", release.Spec.Values, true}, {"offline", offline, true}, {"no client id", none, false}} {
		files := renderChart(t, "edge-workloads", "edge-workloads", "edge-l4", c.vals)
		d := workloadDeployment(t, "datagateway", c.vals)
		use := d.Spec.Template.Labels["azure.workload.identity/use"] == "true"
		token := d.Spec.Template.Spec.AutomountServiceAccountToken != nil && *d.Spec.Template.Spec.AutomountServiceAccountToken
		sa := find(t, objects(t, chartrender.Manifests(files)), "ServiceAccount", "datagateway")
		annotated := sa.GetAnnotations()["azure.workload.identity/client-id"] == clientID
		if use != c.want || token != c.want || annotated != c.want {
			t.Errorf("%s: workload identity label %v, token mounted %v, ServiceAccount client id %v; want all %v", c.path, use, token, annotated, c.want)
		}
	}
}

// toInt reads a number decoded from YAML (JSON numbers decode as float64).
func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

// podPort resolves Service service's port to the pod port it forwards to (its targetPort, a
// number or a container port name of a rendered Deployment); 0 when the Service has no such port.
func podPort(t *testing.T, objs []*unstructured.Unstructured, service string, port int64) int64 {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Service" || o.GetName() != service {
			continue
		}
		ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
		for _, p := range ports {
			pm := p.(map[string]any)
			if toInt(pm["port"]) != port {
				continue
			}
			target, isName := pm["targetPort"].(string)
			if !isName {
				if n := toInt(pm["targetPort"]); n != 0 {
					return n
				}
				return port
			}
			for _, o := range objs {
				if o.GetKind() != "Deployment" {
					continue
				}
				cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
				for _, c := range cs {
					cps, _, _ := unstructured.NestedSlice(c.(map[string]any), "ports")
					for _, cp := range cps {
						if cp.(map[string]any)["name"] == target {
							return toInt(cp.(map[string]any)["containerPort"])
						}
					}
				}
			}
		}
	}
	return 0
}
