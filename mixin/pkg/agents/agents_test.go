package agents_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	helmregistry "helm.sh/helm/v3/pkg/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
	"github.com/edgeframe/edgeframe/test/testenv/kubeenv"
	"github.com/edgeframe/edgeframe/test/testkit"
)

const standIn = "../arc/testdata/azure-arc-k8sagents"

// pushStandIn pushes the stand-in agents chart to an in-process OCI registry
// (the air-gapped mirror case) and returns its host.
func pushStandIn(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ch, err := loader.Load(standIn)
	if err != nil {
		t.Fatal(err)
	}
	tgz, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	c, err := helmregistry.NewClient(helmregistry.ClientOptPlainHTTP(), helmregistry.ClientOptWriter(os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(data, host+"/azurearck8s/batch1/stable/v2/azure-arc-k8sagents:1.21.10"); err != nil {
		t.Fatalf("push: %v", err)
	}
	return host
}

func TestLoadChartFromOCIMirror(t *testing.T) {
	host := pushStandIn(t)
	h := agents.New(nil, nil)
	for _, loc := range []string{
		"oci://" + host + "/azurearck8s/batch1/stable/v2/azure-arc-k8sagents:1.21.10",
		host + "/azurearck8s/batch1/stable/v2/azure-arc-k8sagents:1.21.10", // the data plane's form
	} {
		ref := agents.ChartRef{Location: loc, PlainHTTP: true}
		if !ref.IsOCI() {
			t.Fatalf("%s not recognised as OCI", loc)
		}
		ch, err := h.LoadChart(context.Background(), ref)
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		if ch.Metadata.Name != "azure-arc-k8sagents" || ch.Metadata.Version != "1.21.10" || len(ch.Templates) != 3 {
			t.Fatalf("%s: chart %s %s with %d templates", loc, ch.Metadata.Name, ch.Metadata.Version, len(ch.Templates))
		}
	}
}

func TestLoadChartErrors(t *testing.T) {
	host := pushStandIn(t)
	h := agents.New(nil, nil)
	cases := map[string]string{
		"oci://" + host + "/azurearck8s/azure-arc-k8sagents":                        "no version tag",
		"oci://" + host + "/azurearck8s/missing:1.0.0":                              "pull chart",
		filepath.Join(t.TempDir(), "no-such-chart"):                                 "load chart",
		"oci://" + host + "/azurearck8s/batch1/stable/v2/azure-arc-k8sagents:9.9.9": "pull chart",
	}
	for loc, want := range cases {
		_, err := h.LoadChart(context.Background(), agents.ChartRef{Location: loc, PlainHTTP: true})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", loc, err, want)
		}
	}
}

func TestIsOCI(t *testing.T) {
	for loc, want := range map[string]bool{
		"oci://mcr.microsoft.com/azurearck8s/azure-arc-k8sagents:1.0.0":              true,
		"mcr.microsoft.com/azurearck8s/batch1/stable/v2/azure-arc-k8sagents:1.21.10": true,
		"127.0.0.1:5000/arc/azure-arc-k8sagents:1.0.0":                               true,
		"./charts/azure-arc-k8sagents":                                               false,
		"/abs/azure-arc-k8sagents-1.0.0.tgz":                                         false,
		standIn:                                                                      false,
	} {
		if got := (agents.ChartRef{Location: loc}).IsOCI(); got != want {
			t.Errorf("IsOCI(%s) = %v", loc, got)
		}
	}
}

// A release's objects without metadata.namespace go to the release's namespace (helm install
// --namespace), not to the kubeconfig's default namespace. Found running the all-in-one bundle
// on a real node: every release landed in "default".
func TestApplyCreatesObjectsInTheReleaseNamespace(t *testing.T) {
	testkit.SkipShort(t, "a kube-apiserver")
	k := kubeenv.StartAPIServer(t)
	dir := t.TempDir()
	files := map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: nsprobe\nversion: 0.1.0\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe}\ndata: {a: b}\n",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := agents.FromKubeconfig(k.Kubeconfig, "", nil)
	if _, err := h.Apply(context.Background(), agents.Request{Namespace: "edge-probe", Name: "probe", Chart: agents.ChartRef{Location: dir}}); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(k.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("edge-probe").Get(context.Background(), "probe", metav1.GetOptions{}); err != nil {
		if _, derr := cs.CoreV1().ConfigMaps("default").Get(context.Background(), "probe", metav1.GetOptions{}); derr == nil {
			t.Fatal("the release's ConfigMap was created in namespace default, not edge-probe")
		}
		t.Fatal(err)
	}
}
