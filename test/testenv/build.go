package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// builds caches one build per workload per test binary.
var builds sync.Map // name -> *build

type build struct {
	once sync.Once
	path string
	err  error
}

// RepoRoot is the directory holding the module's go.mod, found by walking up from the
// working directory (a test runs in its package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/edgeframe/edgeframe") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testenv: no edgeframe go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildWorkload builds ./workloads/<name>/cmd/<name> once per test binary (with the
// same toolchain that runs the test) and returns the binary's path. A build failure
// fails the test with the compiler output.
func BuildWorkload(t testing.TB, name string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			b.err = err
			return
		}
		dir, err := os.MkdirTemp("", "edgeframe-build-"+name+"-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		gobin, err := exec.LookPath("go")
		if err != nil {
			b.err = fmt.Errorf("the go command is not on PATH: %w", err)
			return
		}
		cmd := exec.Command(gobin, "build", "-o", b.path, "./workloads/"+name+"/cmd/"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./workloads/%s/cmd/%s: %w\n%s", name, name, err, out)
		}
	})
	if b.err != nil {
		t.Fatalf("testenv: build workload %s: %v", name, b.err)
	}
	return b.path
}
