// Package supervise runs child processes for edgeframe's local topology (the
// `edgeframe demo` command) and for the tests that drive real components: each child
// gets its own process group (Kill reaches whatever it starts) and SIGKILL when the
// parent dies, its output appended to a log file, and a polled readiness probe.
// Supervisor owns a named set of them and stops every one on Shutdown.
package supervise

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

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

// Process is a running child. Its output goes to LogPath.
type Process struct {
	Spec    ProcSpec
	LogPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
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

// Log returns what the process has written so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
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

// LoopbackHTTPSReady is a Ready func for loopback control-plane components (etcd, the
// Kubernetes API server, controllers, kubelet) that serve self-signed certificates: it
// succeeds once url answers 200, sending token as a bearer token when it is not empty. The
// certificate is not verified, so it must only be pointed at this machine's own processes.
func LoopbackHTTPSReady(url, token string) func(context.Context) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback components with self-signed certificates
	}}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s: %w", url, resp.Status, errNotYet)
		}
		return nil
	}
}

// HTTPReady is a Ready func that succeeds once url answers 2xx.
func HTTPReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s: %s: %w", url, resp.Status, errNotYet)
		}
		return nil
	}
}
