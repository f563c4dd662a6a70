package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ProcSpec describes a child process.
type ProcSpec struct {
	Name  string   // for logs and messages
	Path  string   // executable
	Args  []string // arguments
	Env   []string // added to the test's environment
	Dir   string   // working directory ("" = a fresh temp dir)
	Ready func(ctx context.Context) error
	// ReadyTimeout bounds the wait for Ready (default 30 s).
	ReadyTimeout time.Duration
}

// Process is a running child. Its output goes to LogPath; when the test fails the tail
// of the log is printed.
type Process struct {
	Spec    ProcSpec
	LogPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts spec, waits until Ready returns nil (polling), and registers the
// cleanup that kills it and, if the test failed, prints its log.
func StartProcess(t testing.TB, spec ProcSpec) *Process {
	t.Helper()
	if spec.Dir == "" {
		spec.Dir = t.TempDir()
	}
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = 30 * time.Second
	}
	logDir := t.TempDir()
	p := &Process{Spec: spec, LogPath: filepath.Join(logDir, sanitize(spec.Name)+".log")}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.dumpLog(t)
		}
	})
	if err := p.start(); err != nil {
		t.Fatalf("start %s: %v", spec.Name, err)
	}
	if err := p.WaitReady(context.Background()); err != nil {
		p.dumpLog(t)
		t.Fatalf("%s not ready: %v", spec.Name, err)
	}
	return p
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == ':' {
			return '_'
		}
		return r
	}, s)
}

func (p *Process) start() error {
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== start %s %s %s\n", time.Now().Format(time.RFC3339Nano), p.Spec.Path, strings.Join(p.Spec.Args, " "))
	// A relative executable path such as bin/opcplc means relative to our working
	// directory; exec would resolve it against cmd.Dir, the child's own directory.
	path := p.Spec.Path
	if !filepath.IsAbs(path) && strings.ContainsRune(path, filepath.Separator) {
		abs, err := filepath.Abs(path)
		if err != nil {
			f.Close()
			return err
		}
		path = abs
	}
	cmd := exec.Command(path, p.Spec.Args...)
	cmd.Dir = p.Spec.Dir
	cmd.Env = append(os.Environ(), p.Spec.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group, so Kill reaches whatever the child starts (npx, shells).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// WaitReady polls Ready until it succeeds, the process exits or the timeout passes.
func (p *Process) WaitReady(ctx context.Context) error {
	if p.Spec.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.Spec.ReadyTimeout)
	defer cancel()
	var last error
	for {
		if p.Exited() {
			return fmt.Errorf("exited before ready: %v", p.ExitErr())
		}
		if last = p.Spec.Ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timeout after %s: %w", p.Spec.ReadyTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PID is the process id, 0 when not running.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited reports whether the current run has ended.
func (p *Process) Exited() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// ExitErr is how the last run ended.
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *Process) signal(sig syscall.Signal, wait time.Duration) bool {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil || done == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	select {
	case <-done:
		return true
	case <-time.After(wait):
		return false
	}
}

// Kill sends SIGKILL to the process group and waits for the exit.
func (p *Process) Kill() { p.signal(syscall.SIGKILL, 10*time.Second) }

// Stop sends SIGTERM, then SIGKILL after 10 s.
func (p *Process) Stop() {
	if !p.signal(syscall.SIGTERM, 10*time.Second) {
		p.Kill()
	}
}

// Restart starts the process again with the same spec (after Kill or Stop) and waits
// until it is ready.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	p.Kill()
	if err := p.start(); err != nil {
		t.Fatalf("restart %s: %v", p.Spec.Name, err)
	}
	if err := p.WaitReady(context.Background()); err != nil {
		p.dumpLog(t)
		t.Fatalf("%s not ready after restart: %v", p.Spec.Name, err)
	}
}

// Log returns what the process has written so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
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

// DialReady is a Ready func that succeeds once addr accepts TCP connections.
func DialReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// errNotYet is returned by readiness probes that got an answer that is not "ready".
var errNotYet = errors.New("not ready yet")
