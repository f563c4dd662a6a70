package bundleimages_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/build/imagebuild/bundleimages"
	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
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

// A third-party entry (labelled) keeps its published digest: the lock neither knows nor
// rewrites it, while an unlabelled unknown entry is still refused.
func TestUpdateLeavesThirdPartyImages(t *testing.T) {
	const m = `images:
  opcplc: {repository: ghcr.io/edgeframe/opcplc, digest: ""}
  envoy:
    repository: envoyproxy/envoy
    digest: "sha256:4972515dd9a069b44beb43cebba7851596e72a8c61cd7a7c33d8f48efc5280ba"
    labels: {edgeframe.io/image: third-party}
`
	p := filepath.Join(t.TempDir(), "porter.yaml")
	if err := os.WriteFile(p, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	da := "sha256:" + strings.Repeat("a", 64)
	lock := imagelock.Lock{Images: map[string]imagelock.Image{"opcplc": {Repository: "r/opcplc", Digest: da}}}
	if _, err := bundleimages.Update(p, lock); err != nil {
		t.Fatal(err)
	}
	got, err := bundleimages.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	want := bundleimages.Ref{Repository: "envoyproxy/envoy", Digest: "sha256:4972515dd9a069b44beb43cebba7851596e72a8c61cd7a7c33d8f48efc5280ba", ThirdParty: true}
	if got["envoy"] != want || got["opcplc"].Digest != da {
		t.Fatalf("read back %+v", got)
	}
	unlabelled := strings.Replace(m, "    labels: {edgeframe.io/image: third-party}\n", "", 1)
	if err := os.WriteFile(p, []byte(unlabelled), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := bundleimages.Update(p, lock); err == nil || !strings.Contains(err.Error(), "images.envoy") {
		t.Fatalf("an unlabelled image missing from the lock: %v", err)
	}
}

// A committed manifest names a workload image by repository and tag only; the staged copy
// gets the build's version as tag and a digest line under the repository, comments kept.
func TestUpdateAddsTheDigestToATaggedEntry(t *testing.T) {
	const m = `images:
  opcplc:
    description: "OPC PLC" # kept
    imageType: docker
    repository: "ghcr.io/edgeframe/opcplc"
    tag: "0.0.1" # the build sets the version and adds the digest
  tempsensor: {repository: ghcr.io/edgeframe/tempsensor, tag: "0.0.1"}
`
	p := filepath.Join(t.TempDir(), "porter.yaml")
	if err := os.WriteFile(p, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	da := "sha256:" + strings.Repeat("a", 64)
	lock := imagelock.Lock{Build: imagelock.Build{Version: "1.2.3"}, Images: map[string]imagelock.Image{
		"opcplc":     {Repository: "r.example/edgeframe/opcplc", Digest: da},
		"tempsensor": {Repository: "r.example/edgeframe/tempsensor", Digest: da},
	}}
	if _, err := bundleimages.Update(p, lock); err == nil || !strings.Contains(err.Error(), "images.tempsensor") {
		t.Fatalf("a flow mapping without a digest: %v", err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(m, `tag: "0.0.1"}`, `tag: "0.0.1", digest: ""}`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed, err := bundleimages.Update(p, lock); err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	got, err := bundleimages.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"opcplc", "tempsensor"} {
		if want := (bundleimages.Ref{Repository: "r.example/edgeframe/" + n, Digest: da, Tag: "1.2.3"}); got[n] != want {
			t.Errorf("%s read back %+v, want %+v", n, got[n], want)
		}
	}
	text, _ := os.ReadFile(p)
	if want := `    repository: "r.example/edgeframe/opcplc"
    digest: "` + da + `"
    tag: "1.2.3" # the build sets the version and adds the digest
`; !strings.Contains(string(text), want) {
		t.Errorf("want\n%s\nin\n%s", want, text)
	}
	if changed, err := bundleimages.Update(p, lock); err != nil || changed {
		t.Fatalf("second update changed=%v err=%v", changed, err)
	}
}
