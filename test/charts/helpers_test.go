package charts

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/test/testenv"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// chartsDir is the repository's charts directory.
var chartsDir = filepath.Join("..", "..", "charts")

func chartDir(name string) string { return filepath.Join(chartsDir, name) }

// profiles loads every profile.
func profiles(t testing.TB) []chartrender.Profile {
	t.Helper()
	ps, err := chartrender.Profiles(chartsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 4 {
		t.Fatalf("found %d profiles, want l2, l3, l4 and single-cluster", len(ps))
	}
	return ps
}

// renderRelease renders one release of a profile.
func renderRelease(t testing.TB, p chartrender.Profile, r chartrender.ProfileRelease) map[string]string {
	t.Helper()
	vals, err := p.Values(r)
	if err != nil {
		t.Fatal(err)
	}
	files, err := chartrender.RenderRelease(context.Background(), r.ChartDir(chartsDir),
		chartrender.Release{Name: r.Name, Namespace: r.Namespace}, vals)
	if err != nil {
		t.Fatalf("profile %s release %s/%s: %v", p.Name, r.Namespace, r.Name, err)
	}
	return files
}

// renderChart renders a chart with values for release name in namespace.
func renderChart(t testing.TB, chart, name, namespace string, vals map[string]any) map[string]string {
	t.Helper()
	files, err := chartrender.RenderRelease(context.Background(), chartDir(chart), chartrender.Release{Name: name, Namespace: namespace}, vals)
	if err != nil {
		t.Fatalf("render %s: %v", chart, err)
	}
	return files
}

// objects decodes a multi-document YAML stream.
func objects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read manifest: %v", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("manifest is not YAML: %v\n%s", err, doc)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		trimmed := bytes.TrimSpace(line)
		if !bytes.HasPrefix(trimmed, []byte("#")) && !bytes.Equal(trimmed, []byte("---")) {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// find returns the object of kind and name, or fails.
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %q among the rendered objects", kind, name)
	return nil
}

// configMapData returns data[key] of the ConfigMap name.
func configMapData(t testing.TB, files map[string]string, name, key string) string {
	t.Helper()
	cm := find(t, objects(t, chartrender.Manifests(files)), "ConfigMap", name)
	v, ok, _ := unstructured.NestedString(cm.Object, "data", key)
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", name, key)
	}
	return v
}

// manifestsOf joins rendered files into one YAML stream.
func manifestsOf(files map[string]string) string { return chartrender.Manifests(files) }

// toolOrSkip is testenv.Tool: a missing tool skips the test, or fails it under CI=true.
func toolOrSkip(t *testing.T, name string) string { return testenv.Tool(t, name) }

// chartRelease is a release of a profile with its values.
type chartRelease struct {
	chartrender.ProfileRelease
	Values map[string]any
}

// releasesOf returns the releases of chart in profile p, with their values.
func releasesOf(t testing.TB, p chartrender.Profile, chart string) []chartRelease {
	t.Helper()
	var out []chartRelease
	for _, r := range p.Releases {
		if r.Chart != chart {
			continue
		}
		vals, err := p.Values(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, chartRelease{r, vals})
	}
	return out
}

// releaseOf returns the one release of chart in profile p (the first when there are several).
func releaseOf(t testing.TB, p chartrender.Profile, chart string) chartRelease {
	t.Helper()
	rs := releasesOf(t, p, chart)
	if len(rs) == 0 {
		t.Fatalf("profile %s has no %s release", p.Name, chart)
	}
	return rs[0]
}
