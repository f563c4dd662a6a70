package ociimage_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/edgeframe/edgeframe/build/imagebuild/imagetest"
	"github.com/edgeframe/edgeframe/build/imagebuild/ociimage"
)

var (
	amd64 = ociimage.Platform{OS: "linux", Arch: "amd64"}
	arm64 = ociimage.Platform{OS: "linux", Arch: "arm64"}
)

func caCerts(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Skipf("Debian ca-certificates bundle missing (apt-get install ca-certificates): %v", err)
	}
	return b
}

func spec(t *testing.T, bins map[ociimage.Platform]string) ociimage.Spec {
	return ociimage.Spec{
		Name:     "hello",
		Binaries: bins,
		Created:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Labels: map[string]string{
			ociimage.LabelSource:   "https://github.com/edgeframe/edgeframe",
			ociimage.LabelRevision: "0123456789abcdef",
			ociimage.LabelVersion:  "1.2.3",
		},
		CACerts: caCerts(t),
	}
}

func digest(t *testing.T, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestIndexIsReproducibleAndMultiPlatform(t *testing.T) {
	bins := imagetest.Hello(t, "1.2.3", amd64, arm64)
	s := spec(t, bins)
	a, err := ociimage.Index(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(a); err != nil {
		t.Fatalf("index does not validate: %v", err)
	}
	// A second build from copies of the binaries in other places gives the same digest.
	moved := map[ociimage.Platform]string{}
	for p, b := range bins {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(t.TempDir(), "elsewhere")
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
		moved[p] = dst
	}
	s2 := spec(t, moved)
	b, err := ociimage.Index(s2)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, a) != digest(t, b) {
		t.Fatalf("same inputs, different digests: %s vs %s", digest(t, a), digest(t, b))
	}

	m, err := a.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", m.MediaType, types.OCIImageIndex)
	}
	var plats []string
	for _, d := range m.Manifests {
		plats = append(plats, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	if got := strings.Join(plats, ","); got != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %s, want linux/amd64,linux/arm64", got)
	}
	if m.Annotations[ociimage.LabelRevision] != "0123456789abcdef" || m.Annotations[ociimage.LabelSource] == "" {
		t.Errorf("index annotations %v lack source/revision", m.Annotations)
	}

	for _, d := range m.Manifests {
		img, err := a.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != d.Platform.Architecture || cf.OS != "linux" {
			t.Errorf("%s: config says %s/%s", d.Platform.Architecture, cf.OS, cf.Architecture)
		}
		if cf.Config.User != "65532:65532" {
			t.Errorf("user %q, want 65532:65532", cf.Config.User)
		}
		if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/hello" {
			t.Errorf("entrypoint %q", got)
		}
		for _, k := range []string{ociimage.LabelSource, ociimage.LabelRevision, ociimage.LabelVersion} {
			if cf.Config.Labels[k] == "" {
				t.Errorf("label %s missing", k)
			}
		}
		if !cf.Created.Time.Equal(s.Created) {
			t.Errorf("created %v, want %v", cf.Created.Time, s.Created)
		}
	}
}

func TestChangesMoveTheDigest(t *testing.T) {
	bins := imagetest.Hello(t, "1.2.3", amd64)
	other := imagetest.Hello(t, "1.2.4", amd64)
	base, err := ociimage.Index(spec(t, bins))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*ociimage.Spec){
		"binary":   func(s *ociimage.Spec) { s.Binaries = other },
		"created":  func(s *ociimage.Spec) { s.Created = s.Created.Add(time.Second) },
		"revision": func(s *ociimage.Spec) { s.Labels[ociimage.LabelRevision] = "fedcba" },
		"ca certs": func(s *ociimage.Spec) { s.CACerts = append(append([]byte{}, s.CACerts...), '\n') },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			s := spec(t, bins)
			change(&s)
			idx, err := ociimage.Index(s)
			if err != nil {
				t.Fatal(err)
			}
			if digest(t, idx) == digest(t, base) {
				t.Fatalf("changing the %s kept digest %s", name, digest(t, base))
			}
		})
	}
}

func TestRootFileSystemRunsAsNonRoot(t *testing.T) {
	host := ociimage.Platform{OS: "linux", Arch: runtime.GOARCH}
	if runtime.GOOS != "linux" {
		t.Skip("runs a linux binary")
	}
	bins := imagetest.Hello(t, "1.2.3", host)
	bin, err := os.ReadFile(bins[host])
	if err != nil {
		t.Fatal(err)
	}
	img, err := ociimage.Image(spec(t, bins), host, bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("image does not validate: %v", err)
	}
	root := t.TempDir()
	hdrs, err := imagetest.Unpack(img, root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		mode int64
		uid  int
	}{
		"usr/local/bin/hello":               {0o755, 0},
		"etc/ssl/certs/ca-certificates.crt": {0o644, 0},
		"etc/passwd":                        {0o644, 0},
		"home/nonroot":                      {0o700, 65532},
		"tmp":                               {0o1777, 0},
	}
	for p, w := range want {
		h, ok := hdrs[p]
		if !ok {
			t.Errorf("%s missing from the image", p)
			continue
		}
		if h.Mode != w.mode || h.Uid != w.uid {
			t.Errorf("%s: mode %o uid %d, want %o uid %d", p, h.Mode, h.Uid, w.mode, w.uid)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: mtime %v, want the epoch", p, h.ModTime)
		}
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user:\n%s", passwd)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	out, code := imagetest.RunEntrypoint(t, root, cf.Config, "--probe")
	if code != 0 {
		t.Fatalf("entrypoint exited %d: %s", code, out)
	}
	if !strings.Contains(out, "version=1.2.3") || !strings.Contains(out, "certs=true") || !strings.Contains(out, "args=[--probe]") {
		t.Fatalf("entrypoint printed %q", out)
	}
	if os.Geteuid() == 0 && !strings.Contains(out, "uid=65532") {
		t.Fatalf("entrypoint did not run as the image user: %q", out)
	}
}

func TestSpecValidateNamesEveryField(t *testing.T) {
	err := ociimage.Spec{Name: "a/b", CACerts: []byte("nope"), Binaries: map[ociimage.Platform]string{{OS: "linux"}: ""}}.Validate()
	if err == nil {
		t.Fatal("bad spec accepted")
	}
	for _, field := range []string{"name", "platform", "path required", "caCerts"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

func TestContentImageHasFilesParentsAndConfig(t *testing.T) {
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Skip("no CA bundle on this machine")
	}
	img, err := ociimage.ContentImage(ociimage.Content{
		Name: "localhost/x:1", Platform: ociimage.Platform{OS: "linux", Arch: "amd64"}, Created: time.Unix(1, 0),
		CACerts: certs, Entrypoint: []string{"/usr/sbin/tool"}, User: "1883:1883",
		Files: []ociimage.File{
			{Path: "/usr/sbin/tool", Mode: 0o755, Data: []byte("#!bin")},
			{Path: "/lib/x86_64-linux-gnu/libz.so.1", Mode: 0o644, Data: []byte("lib")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("image does not validate: %v", err)
	}
	hdrs, err := imagetest.Unpack(img, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"usr", "usr/sbin", "usr/sbin/tool", "lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu/libz.so.1", "etc/passwd"} {
		if _, ok := hdrs[p]; !ok {
			t.Errorf("%s missing from the image", p)
		}
	}
	if h := hdrs["usr/sbin/tool"]; h != nil && h.Mode != 0o755 {
		t.Errorf("usr/sbin/tool mode %o, want 755", h.Mode)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "1883:1883" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/usr/sbin/tool" {
		t.Errorf("config user %q entrypoint %v", cf.Config.User, cf.Config.Entrypoint)
	}
}

func TestContentImageNamesBadInput(t *testing.T) {
	_, err := ociimage.ContentImage(ociimage.Content{Files: []ociimage.File{{Path: "rel/path"}, {Path: "/a/../b"}}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"name required", "platform", `"rel/path"`, `"/a/../b"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
