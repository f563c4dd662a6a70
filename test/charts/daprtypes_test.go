package charts

import (
	"bytes"
	"fmt"
	"io/fs"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"os"
	"path/filepath"
	"strings"
	"testing"

	componentsv1alpha1 "github.com/dapr/dapr/pkg/apis/components/v1alpha1"
	configurationv1alpha1 "github.com/dapr/dapr/pkg/apis/configuration/v1alpha1"
	resiliencyv1alpha1 "github.com/dapr/dapr/pkg/apis/resiliency/v1alpha1"
	subscriptionsv1alpha1 "github.com/dapr/dapr/pkg/apis/subscriptions/v1alpha1"
	subscriptionsv2alpha1 "github.com/dapr/dapr/pkg/apis/subscriptions/v2alpha1"
	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/internal/selfhosted"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// daprType returns a new value of Dapr's own Go type for apiVersion and kind (dapr/dapr
// pkg/apis, the version go.mod requires, which daprd is built from).
func daprType(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "dapr.io/v1alpha1/Component":
		return &componentsv1alpha1.Component{}, nil
	case "dapr.io/v1alpha1/Configuration":
		return &configurationv1alpha1.Configuration{}, nil
	case "dapr.io/v1alpha1/Resiliency":
		return &resiliencyv1alpha1.Resiliency{}, nil
	case "dapr.io/v1alpha1/Subscription":
		return &subscriptionsv1alpha1.Subscription{}, nil
	case "dapr.io/v2alpha1/Subscription":
		return &subscriptionsv2alpha1.Subscription{}, nil
	}
	return nil, fmt.Errorf("%s %s: not a Dapr resource this test knows", apiVersion, kind)
}

// decodeDaprStrictly decodes every dapr.io document of a YAML stream into Dapr's type: a
// field Dapr does not have (daprd would drop it without a word) is an error naming it.
// It returns how many Dapr documents it decoded.
func decodeDaprStrictly(stream []byte) (int, error) {
	n := 0
	for i, doc := range bytes.Split(stream, []byte("\n---")) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return n, fmt.Errorf("document %d: %w", i, err)
		}
		if !strings.HasPrefix(head.APIVersion, "dapr.io/") {
			continue
		}
		v, err := daprType(head.APIVersion, head.Kind)
		if err != nil {
			return n, err
		}
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			return n, fmt.Errorf("%s %s: %w", head.Kind, head.Metadata.Name, err)
		}
		n++
	}
	return n, nil
}

// TestDaprResourcesDecodeStrictly decodes every Dapr resource the charts render — each
// profile's releases, the dapr-components chart's defaults and a self-hosted render (the
// local topology's) — and every Dapr YAML anywhere else in the repository, strictly against
// Dapr's v1alpha1/v2alpha1 Go types.
func TestDaprResourcesDecodeStrictly(t *testing.T) {
	decoded := 0
	check := func(at string, stream string) {
		n, err := decodeDaprStrictly([]byte(stream))
		if err != nil {
			t.Errorf("%s: %v", at, err)
		}
		decoded += n
	}
	for _, p := range profiles(t) {
		for _, r := range p.Releases {
			check(fmt.Sprintf("profile %s release %s/%s", p.Name, r.Namespace, r.Name), chartrender.Manifests(renderRelease(t, p, r)))
		}
	}
	withSubscription := map[string]any{"subscriptions": []any{map[string]any{
		"name": "s", "topic": "control/x", "route": "/x", "deadLetterTopic": "deadletter/x", "scopes": []any{"x"},
	}}}
	check("dapr-components defaults", chartrender.Manifests(renderChart(t, "dapr-components", "dapr-components", "default", withSubscription)))
	for _, level := range []string{"l2", "l4"} {
		files, err := selfhosted.RenderDaprResources(t.Context(), chartsDir, selfhosted.DaprSpec{
			Level: level, AppID: map[string]string{"l2": "tempsensor", "l4": "datagateway"}[level],
			Broker: "127.0.0.1:1883", Dir: t.TempDir(), OTLPEndpoint: "127.0.0.1:4317",
		})
		if err != nil {
			t.Fatal(err)
		}
		check("self-hosted "+level, chartrender.Manifests(files))
	}
	if decoded < 10 {
		t.Fatalf("decoded only %d Dapr resources: the renders lost them", decoded)
	}

	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// testdata holds fixtures, some wrong on purpose
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "bin" || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) || strings.Contains(path, "/templates/") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("apiVersion: dapr.io/")) {
			rel, _ := filepath.Rel(root, path)
			check(rel, string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDecodeDaprStrictlyNamesUnknownFields: the check itself catches a field Dapr does not
// have (initialInterval is not a retry field: daprd dropped it and started at 500ms).
func TestDecodeDaprStrictlyNamesUnknownFields(t *testing.T) {
	b, err := os.ReadFile("testdata/resiliency-unknown-field.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = decodeDaprStrictly(b)
	if err == nil || !strings.Contains(err.Error(), `unknown field "initialInterval"`) {
		t.Fatalf("got %v, want the unknown field initialInterval named", err)
	}
}

// TestAppConfigurationHasOnlyWhatSidecarsRead: daprd reads mTLS only from the control
// plane's Configuration "daprsystem" (dapr pkg/injector/service/pod_patch.go, pkg/sentry,
// pkg/operator), so an mtls section in an app Configuration is a switch that switches
// nothing; metrics are configured under "metrics" ("metric" is the legacy key).
func TestAppConfigurationHasOnlyWhatSidecarsRead(t *testing.T) {
	seen := 0
	for _, p := range profiles(t) {
		for _, r := range p.Releases {
			for _, o := range objects(t, chartrender.Manifests(renderRelease(t, p, r))) {
				if o.GetAPIVersion() != "dapr.io/v1alpha1" || o.GetKind() != "Configuration" || o.GetName() == "daprsystem" {
					continue
				}
				seen++
				at := fmt.Sprintf("profile %s %s/%s Configuration %s", p.Name, r.Namespace, r.Name, o.GetName())
				spec, _ := o.Object["spec"].(map[string]any)
				if _, ok := spec["mtls"]; ok {
					t.Errorf("%s: spec.mtls is ignored by sidecars (only daprsystem's counts)", at)
				}
				if _, ok := spec["metric"]; ok {
					t.Errorf("%s: spec.metric is the legacy key, use spec.metrics", at)
				}
				// off by default (recording costs every sidecar call CPU); configuration.metrics
				// turns it on
				if m, _ := spec["metrics"].(map[string]any); m["enabled"] != false {
					t.Errorf("%s: spec.metrics.enabled = %v, want false (the shipped default)", at, m["enabled"])
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no profile renders an app Configuration")
	}
}

// TestOneValueTurnsDaprMetricsOn: an operator who needs the sidecars' metrics sets
// configuration.metrics, and the Configuration every sidecar reads records them.
func TestOneValueTurnsDaprMetricsOn(t *testing.T) {
	files := renderChart(t, "dapr-components", "dapr-components", "edge-l4", map[string]any{
		"level": "l4", "scopes": []any{"datagateway"}, "configuration": map[string]any{"metrics": true}})
	cfg := find(t, objects(t, manifestsOf(files)), "Configuration", "edge-config")
	if on, _, _ := unstructured.NestedBool(cfg.Object, "spec", "metrics", "enabled"); !on {
		t.Fatalf("configuration.metrics=true: spec.metrics = %v", cfg.Object["spec"].(map[string]any)["metrics"])
	}
}
