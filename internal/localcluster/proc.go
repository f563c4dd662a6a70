package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// start runs a daemon in its own session (it outlives the command that started it), its output
// appended to logs/<name>.log, and records it in the state.
func (c Config) start(s *State, name, path string, args, env []string) error {
	if err := os.MkdirAll(c.path("logs"), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(c.path("logs", name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("%s: log: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	go cmd.Wait() //nolint:errcheck // reaps the child while this process lives; Down stops it by PID
	s.Procs = append(s.Procs, Proc{Name: name, PID: cmd.Process.Pid, Path: path})
	c.Log.Info("started", "process", name, "pid", cmd.Process.Pid, "log", c.path("logs", name+".log"))
	return c.saveState(s)
}

// alive reports whether p still runs the executable it was started with (not a zombie, not a
// reused PID).
func alive(p Proc) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
	if err != nil {
		return false
	}
	if strings.TrimSuffix(exe, " (deleted)") != p.Path {
		if r, err := filepath.EvalSymlinks(p.Path); err != nil || r != strings.TrimSuffix(exe, " (deleted)") {
			return false
		}
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	// state is the field after the ")" that closes the command name
	if i := strings.LastIndexByte(string(st), ')'); i > 0 && len(st) > i+2 && st[i+2] == 'Z' {
		return false
	}
	return true
}

// stop sends SIGTERM, waits up to grace, then SIGKILL; it only signals p.PID while it is
// still the process that was started.
func stop(p Proc, grace time.Duration) error {
	if !alive(p) {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !alive(p) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if alive(p) {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !alive(p) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s (pid %d) does not exit", p.Name, p.PID)
}

// poll calls f every interval until it returns nil or the timeout passes; the error names what
// was awaited and f's last error.
func poll(ctx context.Context, what string, timeout time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = f(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", what, timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// run runs a command to completion and returns its combined output in the error.
func run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
