package imagelock_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
)

var d1 = "sha256:" + strings.Repeat("a", 64)

func valid() imagelock.Lock {
	return imagelock.Lock{
		Build: imagelock.Build{Version: "0.1.0", Revision: "abc", Source: "https://x", Created: time.Unix(10, 0), Go: "go1.26.0", Platforms: []string{"linux/amd64"}},
		Images: map[string]imagelock.Image{"opcplc": {
			Repository: "ghcr.io/edgeframe/opcplc", Digest: d1, Platforms: map[string]string{"linux/amd64": d1},
		}},
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "images.lock.json")
	if err := valid().Save(p); err != nil {
		t.Fatal(err)
	}
	got, err := imagelock.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Images["opcplc"].Ref() != "ghcr.io/edgeframe/opcplc@"+d1 || !got.Build.Created.Equal(time.Unix(10, 0)) {
		t.Fatalf("round trip lost data: %+v", got)
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	l := valid()
	l.Build.Version = ""
	l.Build.Platforms = append(l.Build.Platforms, "linux/arm64", "nope")
	l.Images["bad"] = imagelock.Image{Repository: "Not A Repo", Digest: "sha256:xyz"}
	l.Charts = map[string]imagelock.Chart{"mosquitto": {Repository: "r.io/c/mosquitto"}}
	err := l.Validate()
	if err == nil {
		t.Fatal("bad lock accepted")
	}
	for _, want := range []string{
		"build.version", "build.platforms[2]", "images.bad.repository", "images.bad.digest",
		"images.opcplc.platforms: linux/arm64 missing", "charts.mosquitto.version", "charts.mosquitto.digest",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestLoadRejectsUnknownFields(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l.json")
	if err := os.WriteFile(p, []byte(`{"build":{},"images":{},"extra":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := imagelock.Load(p); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("want unknown field error, got %v", err)
	}
}
