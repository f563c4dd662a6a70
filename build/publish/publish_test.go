package publish_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	helmregistry "helm.sh/helm/v3/pkg/registry"

	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
	"github.com/edgeframe/edgeframe/build/imagebuild/imagetest"
	"github.com/edgeframe/edgeframe/build/imagebuild/ociimage"
	"github.com/edgeframe/edgeframe/build/publish"
	"github.com/edgeframe/edgeframe/internal/chartrender"
)

// startRegistry runs go-containerregistry's in-process registry and returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestPublishedImageIsPulledBackAndRuns(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs a linux binary")
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Skipf("Debian ca-certificates bundle missing: %v", err)
	}
	host := ociimage.Platform{OS: "linux", Arch: runtime.GOARCH}
	other := ociimage.Platform{OS: "linux", Arch: "arm64"}
	if runtime.GOARCH == "arm64" {
		other.Arch = "amd64"
	}
	idx, err := ociimage.Index(ociimage.Spec{
		Name:     "hello",
		Binaries: imagetest.Hello(t, "9.9.9", host, other),
		Created:  time.Unix(1700000000, 0),
		Labels:   map[string]string{ociimage.LabelVersion: "9.9.9"},
		CACerts:  certs,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t)
	var out bytes.Buffer
	target := publish.Target{Registry: reg, Insecure: true, Out: &out}
	repo := imagelock.Repository(reg, "hello")
	pushed, err := target.Image(context.Background(), repo, "9.9.9", idx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if pushed != want.String() || !strings.Contains(out.String(), repo+"@"+pushed) {
		t.Fatalf("pushed %s (printed %q), built %s", pushed, out.String(), want)
	}

	// Pull back by digest, pick the host platform, unpack and run the entrypoint.
	ref, err := name.NewDigest(repo+"@"+pushed, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pulled.Digest(); d != want {
		t.Fatalf("registry returned index %s, pushed %s", d, want)
	}
	img, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: host.OS, Architecture: host.Arch}))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != host.Arch {
		t.Fatalf("pulled %s image for %s", cf.Architecture, host.Arch)
	}
	root := t.TempDir()
	if _, err := imagetest.Unpack(img, root); err != nil {
		t.Fatal(err)
	}
	got, code := imagetest.RunEntrypoint(t, root, cf.Config)
	if code != 0 {
		t.Fatalf("entrypoint exited %d: %s", code, got)
	}
	if !strings.Contains(got, "version=9.9.9") || !strings.Contains(got, "certs=true") {
		t.Fatalf("pulled entrypoint printed %q", got)
	}
	// The tag points at the same index.
	tag, _ := name.NewTag(repo+":9.9.9", name.Insecure)
	desc, err := remote.Head(tag)
	if err != nil || desc.Digest != want {
		t.Fatalf("tag 9.9.9 -> %v (%v), want %s", desc, err, want)
	}
}

func TestImagesRefusesADigestOtherThanTheLock(t *testing.T) {
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Skipf("Debian ca-certificates bundle missing: %v", err)
	}
	p := ociimage.Platform{OS: "linux", Arch: runtime.GOARCH}
	idx, err := ociimage.Index(ociimage.Spec{Name: "hello", Binaries: imagetest.Hello(t, "1", p), Created: time.Unix(1, 0), CACerts: certs})
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t)
	lock := imagelock.Lock{Build: imagelock.Build{Version: "1"}, Images: map[string]imagelock.Image{
		"hello": {Repository: imagelock.Repository(reg, "hello"), Digest: "sha256:" + strings.Repeat("0", 64)},
	}}
	err = publish.Target{Registry: reg, Insecure: true}.Images(context.Background(), lock, map[string]v1.ImageIndex{"hello": idx})
	if err == nil || !strings.Contains(err.Error(), "lock says") {
		t.Fatalf("want a lock mismatch error, got %v", err)
	}
}

func TestChartsArePushedAsHelmOCIArtifacts(t *testing.T) {
	root := imagetest.Root(t)
	dirs, err := chartrender.Charts(filepath.Join(root, "charts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Skip("no charts yet")
	}
	reg := startRegistry(t)
	target := publish.Target{Registry: reg, Insecure: true}
	got, err := target.Charts(context.Background(), filepath.Join(root, "charts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(dirs) {
		t.Fatalf("pushed %d charts, have %d", len(got), len(dirs))
	}
	client, err := helmregistry.NewClient(helmregistry.ClientOptPlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	for n, c := range got {
		res, err := client.Pull(c.Repository + ":" + c.Version)
		if err != nil {
			t.Fatalf("helm pull %s: %v", n, err)
		}
		if res.Manifest.Digest != c.Digest {
			t.Errorf("%s: pulled manifest %s, pushed %s", n, res.Manifest.Digest, c.Digest)
		}
		if res.Chart.Meta.Name != n || len(res.Chart.Data) == 0 {
			t.Errorf("%s: pulled chart %q with %d bytes", n, res.Chart.Meta.Name, len(res.Chart.Data))
		}
	}
}
