package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
)

// NodeScriptSpec runs a node.js script with the node-opcua install of `make tools`.
type NodeScriptSpec struct {
	Name   string   // for logs
	Script string   // path of the .js file
	Args   []string // script arguments
	Env    []string // added to the environment (NODE_PATH is set for you)
	Dir    string   // working directory ("" = a fresh temp dir; node-opcua keeps its PKI there)
	// Port: the script is ready once 127.0.0.1:Port accepts TCP connections (0 = at once).
	Port int
	// ReadyTimeout bounds the wait (default 120 s: node-opcua creates its PKI on first
	// start, which takes tens of seconds on a busy 2-core machine).
	ReadyTimeout time.Duration
}

// StartNodeScript starts node on spec.Script with NODE_PATH pointing at node-opcua's
// node_modules and waits until it listens on spec.Port. It skips the test (fails it
// under CI=true) when node-opcua or node is not installed.
func StartNodeScript(t testing.TB, spec NodeScriptSpec) *Process {
	t.Helper()
	dir := Tool(t, "node-opcua")
	node := Tool(t, "node")
	script, err := filepath.Abs(spec.Script)
	if err != nil {
		t.Fatal(err)
	}
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = 120 * time.Second
	}
	if spec.Dir == "" {
		spec.Dir = t.TempDir()
	} else if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ps := ProcSpec{
		Name: spec.Name, Path: node, Args: append([]string{script}, spec.Args...), Dir: spec.Dir,
		Env:          append([]string{"NODE_PATH=" + filepath.Join(dir, "node_modules")}, spec.Env...),
		ReadyTimeout: spec.ReadyTimeout,
	}
	if spec.Port != 0 {
		ps.Ready = supervise.DialReady(fmt.Sprintf("127.0.0.1:%d", spec.Port))
	}
	return StartProcess(t, ps)
}
