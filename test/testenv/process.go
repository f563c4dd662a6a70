package testenv

import (
	"context"
	"testing"

	"github.com/edgeframe/edgeframe/internal/freeport"
	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/test/testkit"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and that no other
// FreePort of this test binary returned (freeport.Take).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freeport.Take()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return port
}

// ProcSpec describes a child process (supervise.ProcSpec; Dir "" means a fresh temp dir).
type ProcSpec = supervise.ProcSpec

// Process is a child started by a test: supervise's process handling plus a Restart
// that fails the test, and its log printed when the test fails.
type Process struct{ *supervise.Process }

// StartProcess starts spec, waits until Ready returns nil (polling), and registers the
// cleanup that kills it and, if the test failed, prints its log.
func StartProcess(t testing.TB, spec ProcSpec) *Process {
	t.Helper()
	testkit.SkipShort(t, "the child process "+spec.Name)
	if spec.Dir == "" {
		spec.Dir = t.TempDir()
	}
	sp, err := supervise.Launch(context.Background(), spec, t.TempDir())
	if err != nil {
		if sp != nil {
			(&Process{sp}).dumpLog(t)
		}
		t.Fatal(err)
	}
	p := &Process{sp}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.dumpLog(t)
		}
	})
	return p
}

// Restart starts the process again with the same spec (after Kill or Stop) and waits
// until it is ready, failing the test otherwise.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	if err := p.Relaunch(context.Background()); err != nil {
		p.dumpLog(t)
		t.Fatal(err)
	}
}

func (p *Process) dumpLog(t testing.TB) {
	t.Helper()
	b := p.Log()
	const max = 16 << 10
	if len(b) > max {
		b = "…" + b[len(b)-max:]
	}
	t.Logf("----- log of %s (%s) -----\n%s\n----- end of %s -----", p.Spec.Name, p.LogPath, b, p.Spec.Name)
}
