package sink

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// rotator appends to JSON-lines files in a directory, starting a new file when the
// current one reaches maxBytes or is older than maxAge. Files are named
// <prefix>-<UTC start time>.jsonl so that name order is time order. If the current file
// or the directory disappears (removed, rotated away), the next write starts a new file.
type rotator struct {
	dir      string
	prefix   string
	maxBytes int64
	maxAge   time.Duration
	sync     bool
	now      func() time.Time

	mu      sync.Mutex
	f       *os.File
	path    string
	size    int64
	started time.Time
}

func newRotator(dir, prefix string, maxBytes int64, maxAge time.Duration, sync bool, now func() time.Time) *rotator {
	if now == nil {
		now = time.Now
	}
	return &rotator{dir: dir, prefix: prefix, maxBytes: maxBytes, maxAge: maxAge, sync: sync, now: now}
}

// write appends data (whole lines) and, when configured, fsyncs before returning.
func (r *rotator) write(data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.ensure(int64(len(data))); err != nil {
		return err
	}
	if _, err := r.f.Write(data); err != nil {
		r.closeLocked()
		return fmt.Errorf("write %s: %w", r.path, err)
	}
	r.size += int64(len(data))
	if r.sync {
		if err := r.f.Sync(); err != nil {
			r.closeLocked()
			return fmt.Errorf("sync %s: %w", r.path, err)
		}
	}
	return nil
}

func (r *rotator) ensure(n int64) error {
	if r.f != nil {
		st, err1 := r.f.Stat()
		cur, err2 := os.Stat(r.path)
		switch {
		case err1 != nil || err2 != nil || !os.SameFile(st, cur):
			r.closeLocked() // removed or replaced under us
		case r.maxBytes > 0 && r.size > 0 && r.size+n > r.maxBytes,
			r.maxAge > 0 && r.now().Sub(r.started) >= r.maxAge:
			r.closeLocked()
		}
	}
	if r.f != nil {
		return nil
	}
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return fmt.Errorf("directory %s: %w", r.dir, err)
	}
	now := r.now().UTC()
	path := filepath.Join(r.dir, fmt.Sprintf("%s-%s.jsonl", r.prefix, now.Format("20060102T150405.000000000Z")))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat %s: %w", path, err)
	}
	r.f, r.path, r.size, r.started = f, path, st.Size(), now
	return nil
}

func (r *rotator) closeLocked() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

func (r *rotator) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
