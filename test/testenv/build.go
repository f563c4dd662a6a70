package testenv

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/edgeframe/edgeframe/test/testkit"
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
	testkit.SkipShort(t, "the "+name+" binary built from source")
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			b.err = err
			return
		}
		// One stable location per user, replaced atomically: no build output piles up
		// in /tmp across runs, and a test binary that already runs the previous build
		// keeps its (unlinked) file.
		sum := sha256.Sum256([]byte(root))
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("edgeframe-workloads-%d-%x", os.Getuid(), sum[:6]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.err = err
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			b.err = fmt.Errorf("the go command is not on PATH: %w", err)
			return
		}
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", name, os.Getpid()))
		cmd := exec.Command(gobin, "build", "-o", tmp, "./workloads/"+name+"/cmd/"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			b.err = fmt.Errorf("go build ./workloads/%s/cmd/%s: %w\n%s", name, name, err, out)
			return
		}
		b.path = filepath.Join(dir, name)
		if err := os.Rename(tmp, b.path); err != nil {
			os.Remove(tmp)
			b.err = err
		}
	})
	if b.err != nil {
		t.Fatalf("testenv: build workload %s: %v", name, b.err)
	}
	return b.path
}
