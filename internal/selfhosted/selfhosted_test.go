package selfhosted_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/selfhosted"
)

const charts = "../../charts"

func TestMergeOverlaysMapsKeyByKey(t *testing.T) {
	base := map[string]any{"a": map[string]any{"x": 1, "y": 2}, "b": []any{1}}
	got := selfhosted.Merge(base, map[string]any{"a": map[string]any{"y": 3}, "b": []any{2}})
	want := map[string]any{"a": map[string]any{"x": 1, "y": 3}, "b": []any{2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if base["a"].(map[string]any)["y"] != 2 {
		t.Fatal("Merge modified its base")
	}
}

// A local broker that does not match its profile's shape (a bridge listener L2 does not have,
// no parent for a level that bridges upward) is refused, naming the field.
func TestBrokerSpecMustMatchTheProfile(t *testing.T) {
	for _, c := range []struct {
		name string
		s    selfhosted.BrokerSpec
		want string
	}{
		{"bridge listener at L2", selfhosted.BrokerSpec{Level: "l2", ClientPort: 1883, BridgePort: 8883, ParentAddr: "127.0.0.1:1"}, "BridgePort 8883"},
		{"L3 without its parent", selfhosted.BrokerSpec{Level: "l3", ClientPort: 1883, BridgePort: 8883}, `ParentAddr ""`},
		{"L4 without its bridge listener", selfhosted.BrokerSpec{Level: "l4", ClientPort: 1883}, "BridgePort 0"},
		{"no such level", selfhosted.BrokerSpec{Level: "l9", ClientPort: 1883}, "profiles/l9"},
	} {
		c.s.Dir = t.TempDir()
		_, err := selfhosted.RenderBrokerConfig(t.Context(), charts, c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %s", c.name, err, c.want)
		}
	}
}

func TestDaprSpecMustBeInTheProfile(t *testing.T) {
	_, err := selfhosted.RenderDaprResources(t.Context(), charts, selfhosted.DaprSpec{
		Level: "l4", AppID: "tempsensor", Broker: "127.0.0.1:1883", Dir: t.TempDir(), OTLPEndpoint: "127.0.0.1:4317"})
	if err == nil || !strings.Contains(err.Error(), "not in profile l4's scopes") {
		t.Fatalf("got %v, want the app id refused by the profile's scopes", err)
	}
	_, err = selfhosted.RenderDaprResources(t.Context(), charts, selfhosted.DaprSpec{
		Level: "l4", AppID: "datagateway", Broker: "127.0.0.1:1883", Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "OTLPEndpoint") {
		t.Fatalf("got %v, want OTLPEndpoint named", err)
	}
}

// TestSidecarIsWhatTheInjectorBuilds renders every profile's sidecars through Dapr's injector
// code: the flags come from the chart's annotations, only ports and paths are local.
func TestSidecarIsWhatTheInjectorBuilds(t *testing.T) {
	for _, c := range []struct{ level, app, protocol string }{
		{"l2", "tempsensor", "grpc"}, {"l2", "opcpublisher", "http"}, {"l4", "datagateway", "grpc"},
	} {
		sc, err := selfhosted.RenderSidecar(t.Context(), charts, selfhosted.SidecarSpec{
			Level: c.level, AppID: c.app, HTTPPort: 1, GRPCPort: 2, InternalPort: 3, MetricsPort: 4,
			Files: selfhosted.DaprFiles{ResourcesDir: "/res", ConfigPath: "/cfg.yaml"},
		})
		if err != nil {
			t.Fatal(err)
		}
		// the chart's dapr.memoryRequestMiB/memoryLimitMiB, through the injector's annotations
		if sc.MemoryRequest != 128<<20 || sc.MemoryLimit != 192<<20 {
			t.Errorf("%s/%s: sidecar memory request/limit %d/%d, want 128/192 MiB", c.level, c.app, sc.MemoryRequest, sc.MemoryLimit)
		}
		args := strings.Join(sc.Args, " ")
		for _, want := range []string{"--app-id " + c.app, "--app-protocol " + c.protocol, "--log-as-json",
			"--dapr-http-port 1", "--resources-path /res", "--config /cfg.yaml", "--dapr-listen-addresses 127.0.0.1"} {
			if !strings.Contains(args, want) {
				t.Errorf("%s/%s: daprd args lack %q: %s", c.level, c.app, want, args)
			}
		}
		for _, gone := range []string{"--mode", "--control-plane-address", "--sentry-address", "--dapr-public-port", "--app-port"} {
			if strings.Contains(args, gone) {
				t.Errorf("%s/%s: daprd args keep the cluster flag %s: %s", c.level, c.app, gone, args)
			}
		}
	}
	_, err := selfhosted.RenderSidecar(t.Context(), charts, selfhosted.SidecarSpec{Level: "l2", AppID: "datagateway"})
	if err == nil || !strings.Contains(err.Error(), "no Deployment runs a container datagateway") {
		t.Fatalf("an app the profile does not run: err = %v", err)
	}
}

// TestWorkloadEnvIsTheChartsContainers: a local workload gets its container's environment from
// the profile (the memory soft limit, the trace sampler), less the collector's cluster address.
func TestWorkloadEnvIsTheChartsContainers(t *testing.T) {
	env, err := selfhosted.WorkloadEnv(t.Context(), charts, "l4", "datagateway")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(env, " ")
	for _, want := range []string{"GOMEMLIMIT=153MiB", "OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_SERVICE_NAME=datagateway"} {
		if !strings.Contains(got, want) {
			t.Errorf("environment lacks %s: %s", want, got)
		}
	}
	if strings.Contains(got, "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Errorf("environment keeps the cluster's collector address: %s", got)
	}
}
