// Package deps checks what the shipped binaries link: no main package outside test/
// (the edgeframe command, the workloads, arcflux, the release tools) may depend on the
// testing package or on anything under test/.
package deps

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/test/testenv"
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
