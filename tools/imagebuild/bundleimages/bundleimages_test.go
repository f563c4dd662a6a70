package bundleimages_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/tools/imagebuild/bundleimages"
	"github.com/edgeframe/edgeframe/tools/imagebuild/imagelock"
)

const manifest = `# a porter manifest
name: x
images:
  opcplc:
    description: "OPC PLC" # kept
    repository: ghcr.io/edgeframe/opcplc
    digest: ""
  tempsensor: {repository: 'old/tempsensor', digest: sha256:old}
install: []
`

func TestUpdateRewritesOnlyRepositoryAndDigest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "porter.yaml")
	if err := os.WriteFile(p, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	da, db := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	lock := imagelock.Lock{Images: map[string]imagelock.Image{
		"opcplc":     {Repository: "localhost:5000/edgeframe/opcplc", Digest: da},
		"tempsensor": {Repository: "localhost:5000/edgeframe/tempsensor", Digest: db},
	}}
	changed, err := bundleimages.Update(p, lock)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	got, err := bundleimages.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if got["opcplc"] != (bundleimages.Ref{Repository: "localhost:5000/edgeframe/opcplc", Digest: da}) ||
		got["tempsensor"] != (bundleimages.Ref{Repository: "localhost:5000/edgeframe/tempsensor", Digest: db}) {
		t.Fatalf("read back %+v", got)
	}
	text, _ := os.ReadFile(p)
	for _, keep := range []string{"# a porter manifest", `description: "OPC PLC" # kept`, "install: []"} {
		if !strings.Contains(string(text), keep) {
			t.Errorf("lost %q:\n%s", keep, text)
		}
	}
	if changed, err := bundleimages.Update(p, lock); err != nil || changed {
		t.Fatalf("second update changed=%v err=%v", changed, err)
	}
}

func TestUpdateRejectsAnImageMissingFromTheLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "porter.yaml")
	if err := os.WriteFile(p, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := bundleimages.Update(p, imagelock.Lock{Images: map[string]imagelock.Image{}})
	if err == nil || !strings.Contains(err.Error(), "images.opcplc") || !strings.Contains(err.Error(), "images.tempsensor") {
		t.Fatalf("want both images named, got %v", err)
	}
}
