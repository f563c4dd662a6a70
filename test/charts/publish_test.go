package charts

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/build/publish"
	"github.com/edgeframe/edgeframe/internal/chartrender"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
)

// TestPackageAndPushOCI: `make charts` output is a Helm repository (an archive per chart with
// the library embedded, index.yaml) and the archives push to a real OCI registry
// (go-containerregistry's registry, in process) and pull back byte for byte.
func TestPackageAndPushOCI(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	archives, err := publish.Package(ctx, chartsDir, out, "https://charts.example.com/edgeframe")
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := chartrender.Charts(chartsDir)
	if len(archives) != len(dirs) || len(dirs) < 6 {
		t.Fatalf("packaged %d archives for %d charts", len(archives), len(dirs))
	}
	idx, err := repo.LoadIndexFile(filepath.Join(out, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range archives {
		ch, err := loader.Load(a)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if len(ch.Dependencies()) != 1 || ch.Dependencies()[0].Name() != "edge-lib" {
			t.Errorf("%s does not embed edge-lib", a)
		}
		v, err := idx.Get(ch.Name(), ch.Metadata.Version)
		if err != nil {
			t.Errorf("index.yaml: %v", err)
			continue
		}
		if len(v.URLs) != 1 || !strings.HasPrefix(v.URLs[0], "https://charts.example.com/edgeframe/") || v.Digest == "" {
			t.Errorf("index entry of %s: urls %v digest %q", ch.Name(), v.URLs, v.Digest)
		}
		if ch.Name() == "mosquitto" {
			// The packaged chart renders like the source chart.
			a, err := chartrender.RenderChart(ch, chartrender.Release{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			b := renderChart(t, "mosquitto", "mosquitto", "default", nil)
			if chartrender.Manifests(a) != chartrender.Manifests(b) {
				t.Error("packaged mosquitto renders differently from charts/mosquitto")
			}
		}
	}

	srv := httptest.NewServer(ggcrregistry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	refs, err := publish.PushOCI(ctx, archives, "oci://"+host+"/edgeframe/charts", publish.PushOptions{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != len(archives) {
		t.Fatalf("pushed %v", refs)
	}
	client, err := registry.NewClient(registry.ClientOptPlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Pull(host + "/edgeframe/charts/envoy-proxy:0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(out, "envoy-proxy-0.1.0.tgz"))
	if string(res.Chart.Data) != string(want) {
		t.Error("pulled envoy-proxy differs from the pushed archive")
	}

	if _, err := publish.PushOCI(ctx, archives, "https://"+host, publish.PushOptions{}); err == nil || !strings.Contains(err.Error(), "oci://") {
		t.Errorf("a non-oci reference was accepted: %v", err)
	}
}
