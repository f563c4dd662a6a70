package supervise

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Launch starts spec (own process group, SIGKILL on parent death, output appended to
// logDir/<name>.log) and waits until it is ready. spec.Dir must
// exist; "" means logDir. On a readiness failure the process is killed and the error
// says how it ended.
func Launch(ctx context.Context, spec ProcSpec, logDir string) (*Process, error) {
	if spec.Dir == "" {
		spec.Dir = logDir
	}
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = 30 * time.Second
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: log directory: %w", spec.Name, err)
	}
	p := &Process{Spec: spec, LogPath: filepath.Join(logDir, sanitize(spec.Name)+".log")}
	if err := p.start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	if err := p.WaitReady(ctx); err != nil {
		p.Kill()
		return p, fmt.Errorf("%s not ready (log %s): %w", spec.Name, p.LogPath, err)
	}
	return p, nil
}

// Relaunch starts the process again with the same spec (after Kill or Stop) and waits
// until it is ready.
func (p *Process) Relaunch(ctx context.Context) error {
	p.Kill()
	if err := p.start(); err != nil {
		return fmt.Errorf("restart %s: %w", p.Spec.Name, err)
	}
	if err := p.WaitReady(ctx); err != nil {
		return fmt.Errorf("%s not ready after restart (log %s): %w", p.Spec.Name, p.LogPath, err)
	}
	return nil
}
