// Package binaries checks the shipped binaries: no main package outside test/ (the
// edgeframe command, the workloads, arcflux, the release tools) may depend on the testing
// package or on anything under test/, and `make build` stamps one version into all of them.
package binaries

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
)

const module = "github.com/edgeframe/edgeframe"

type pkg struct {
	ImportPath string
	Name       string
	Deps       []string
}

func TestNothingUserFacingLinksTestingOrTestPackages(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Name,Deps", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var mains []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Name == "main" && !strings.HasPrefix(p.ImportPath, module+"/test/") {
			mains = append(mains, p)
		}
	}
	found := false
	for _, p := range mains {
		if p.ImportPath == module+"/cmd/edgeframe" {
			found = true
		}
		for _, d := range p.Deps {
			if d == "testing" || strings.HasPrefix(d, module+"/test/") || d == module+"/test" {
				t.Errorf("%s links %s", p.ImportPath, d)
			}
		}
	}
	if !found || len(mains) < 2 {
		t.Fatalf("go list found %d main packages outside test/, cmd/edgeframe among them: %v", len(mains), found)
	}
	t.Logf("%d main packages checked", len(mains))
}

// TestMakeBuildStampsOneVersionIntoEveryBinary builds with `make build` and a made-up
// version and commit: arcflux and edgeframe print both, and every binary in bin/ carries
// the version (stamped into pkg/version; the workloads do not use the commit, so the
// linker drops it).
func TestMakeBuildStampsOneVersionIntoEveryBinary(t *testing.T) {
	testkit.SkipShort(t, "make build of every binary")
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	const ver, commit = "v9.8.7-stamptest", "feedbee"
	bin := t.TempDir()
	mk := exec.Command("make", "-s", "build", "BIN="+bin, "VERSION="+ver, "COMMIT="+commit)
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	for _, c := range []struct {
		bin  string
		args []string
		want string
	}{
		{"arcflux", []string{"version"}, "arcflux " + ver + " (" + commit + ") by edgeframe"},
		{"arcflux", []string{"version", "--output", "json"}, `"version": "` + ver + `"`},
		{"edgeframe", []string{"version"}, "edgeframe " + ver + " (" + commit + ")"},
	} {
		out, err := exec.Command(filepath.Join(bin, c.bin), c.args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s %s: %v\n%s\nwant %q", c.bin, strings.Join(c.args, " "), err, out, c.want)
		}
	}
	entries, err := os.ReadDir(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 6 {
		t.Fatalf("make build produced %d binaries", len(entries))
	}
	for _, e := range entries {
		// -trimpath keeps -ldflags out of the build info: look for the stamped strings,
		// which nothing but the -X flags puts into a binary
		b, err := os.ReadFile(filepath.Join(bin, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(ver)) {
			t.Errorf("%s does not carry the stamped version %q", e.Name(), ver)
		}
	}
}
