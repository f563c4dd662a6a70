package localcluster

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/build/imagebuild/imagetest"
)

func manifest(t *testing.T) (*Manifest, string) {
	t.Helper()
	root := imagetest.Root(t)
	m, err := LoadManifest(filepath.Join(root, "porter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return m, root
}

// The executor resolves the all-in-one manifest's templates from its parameters and the local
// images, and names any template it cannot resolve.
func TestExecutorResolvesTheManifestTemplates(t *testing.T) {
	m, _ := manifest(t)
	e := &Executor{Manifest: m, Images: map[string]Image{"tempsensor": {Repository: "ghcr.io/edgeframe/tempsensor", Digest: "sha256:abc"}}}
	got, err := e.resolve("x", "${ bundle.images.tempsensor.repository }@${bundle.images.tempsensor.digest}")
	if err != nil || got != "ghcr.io/edgeframe/tempsensor@sha256:abc" {
		t.Fatalf("resolve = %q, %v", got, err)
	}
	if v, _ := e.resolve("x", "${ bundle.parameters.dapr-version }"); v == "" || strings.Contains(v, "$") {
		t.Fatalf("dapr-version resolved to %q", v)
	}
	for _, bad := range []string{"${ bundle.images.opcplc.digest }", "${ bundle.outputs.x }", "${ bundle.parameters.nope }"} {
		if _, err := e.resolve("install[3]", bad); err == nil || !strings.Contains(err.Error(), "install[3]") {
			t.Errorf("%s: error %v does not name the step", bad, err)
		}
	}
}

// Every install step of porter.yaml is runnable by the executor: a helm3 step's chart is a
// repository path or a configured local chart, its values files exist, its set templates name
// bundle images or parameters; every chart whose default image cannot exist here has an
// image override.
func TestEveryInstallStepIsRunnable(t *testing.T) {
	m, root := manifest(t)
	overrides := ReleaseImages("1.18.0")
	workloads := map[string]Image{}
	for _, w := range []string{"opcplc", "opcpublisher", "tempsensor", "datagateway"} {
		workloads[w] = Image{Repository: "r/" + w, Digest: "sha256:" + w}
	}
	images := BundleImages(AppImages{Workloads: workloads, Mosquitto: Image{Repository: "m", Digest: "sha256:1"}, Kubectl: Image{Repository: "k", Digest: "sha256:2"}})
	for k := range m.Images {
		if _, ok := images[k]; !ok {
			t.Errorf("bundle image %s has no local image", k)
		}
	}
	e := &Executor{Manifest: m, Images: images}
	for i, entry := range m.Install {
		for mixin, st := range entry {
			if mixin != "helm3" {
				t.Errorf("install[%d]: mixin %s", i, mixin)
				continue
			}
			if strings.HasPrefix(st.Chart, "./") {
				if _, err := os.Stat(filepath.Join(root, st.Chart, "Chart.yaml")); err != nil {
					t.Errorf("install[%d]: chart %s: %v", i, st.Chart, err)
				}
			} else if _, ok := overrides[st.Chart]; !ok {
				t.Errorf("install[%d]: repository chart %s has no local image override", i, st.Chart)
			}
			for _, v := range st.Values {
				if _, err := os.Stat(filepath.Join(root, v)); err != nil {
					t.Errorf("install[%d]: values %s: %v", i, v, err)
				}
			}
			setsImages := false
			for k, v := range st.Set {
				if _, err := e.resolve("install", fmt.Sprint(v)); err != nil {
					t.Errorf("install[%d]: set %s: %v", i, k, err)
				}
				setsImages = setsImages || k == "image.digest" || strings.HasSuffix(k, ".image.digest")
			}
			if st.Chart != "./charts/edge-workloads" && st.Chart != "./charts/dapr-components" && st.Chart != "./charts/dns-override" &&
				!setsImages && overrides[st.Chart] == nil {
				t.Errorf("install[%d]: chart %s runs an image that is neither a bundle image nor overridden", i, st.Chart)
			}
		}
	}
}

func TestRunRejectsUnknownAction(t *testing.T) {
	m, _ := manifest(t)
	e := &Executor{Manifest: m, Config: Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	if _, err := e.Run(t.Context(), "upgrade"); err == nil || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("err = %v", err)
	}
}

func TestSharedLibsOfADebianBinary(t *testing.T) {
	bin := "/usr/sbin/mosquitto"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("mosquitto not installed")
	}
	libs, err := sharedLibs(bin)
	if err != nil {
		t.Fatal(err)
	}
	var libc, loader, gcc bool
	for _, l := range libs {
		libc = libc || strings.Contains(l, "libc.so")
		loader = loader || strings.Contains(l, "ld-linux")
		gcc = gcc || strings.Contains(l, "libgcc_s.so.1")
	}
	if !libc || !loader || !gcc {
		t.Fatalf("libs %v: want libc, the loader and libgcc_s (glibc loads it at run time)", libs)
	}
}
