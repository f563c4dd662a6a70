package sink

import (
	"errors"
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
	mode     syncMode
	now      func() time.Time

	mu      sync.Mutex
	f       *os.File
	path    string
	size    int64
	started time.Time
	// dirty: written since the last fsync (syncDeferred). lost: a file closed while
	// dirty without a successful fsync, reported (once) by the next syncNow.
	dirty bool
	lost  error
}

// syncMode says when a rotator's writes reach the disk.
type syncMode int

const (
	syncNever    syncMode = iota // left to the kernel (a power cut may lose acknowledged lines)
	syncEach                     // fsync before write returns
	syncDeferred                 // fsync on syncNow, and before a file is closed
)

func newRotator(dir, prefix string, maxBytes int64, maxAge time.Duration, mode syncMode, now func() time.Time) *rotator {
	if now == nil {
		now = time.Now
	}
	return &rotator{dir: dir, prefix: prefix, maxBytes: maxBytes, maxAge: maxAge, mode: mode, now: now}
}

// write appends data (whole lines); with syncEach it fsyncs before returning.
func (r *rotator) write(data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.ensure(int64(len(data))); err != nil {
		return err
	}
	if _, err := r.f.Write(data); err != nil {
		err = fmt.Errorf("write %s: %w", r.path, err)
		if r.mode == syncDeferred {
			r.dirty = true // part of data may be in the file: nothing since the last fsync is sure
		}
		r.closeLocked(err)
		return err
	}
	r.size += int64(len(data))
	switch r.mode {
	case syncEach:
		if err := r.f.Sync(); err != nil {
			r.closeLocked(nil)
			return fmt.Errorf("sync %s: %w", r.path, err)
		}
	case syncDeferred:
		r.dirty = true
	}
	return nil
}

// syncNow makes everything written so far durable (syncDeferred). An error means some
// of it may not be: a failed fsync, or a file that had to be closed unsynced.
func (r *rotator) syncNow() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	lost := r.lost
	r.lost = nil
	return lost
}

// syncLocked fsyncs the current file if it holds unsynced lines. When the fsync fails,
// Linux may have dropped the pages it could not write: what the file got since the last
// good fsync is in doubt, so the file is closed and the doubt kept for syncNow.
func (r *rotator) syncLocked() error {
	if r.f == nil || !r.dirty {
		return nil
	}
	if err := r.f.Sync(); err != nil {
		err = fmt.Errorf("sync %s: %w", r.path, err)
		r.closeLocked(err)
		return err
	}
	r.dirty = false
	return nil
}

func (r *rotator) ensure(n int64) error {
	if r.f != nil {
		st, err1 := r.f.Stat()
		cur, err2 := os.Stat(r.path)
		switch {
		case err1 != nil || err2 != nil || !os.SameFile(st, cur):
			r.retireLocked() // removed or replaced under us (renamed lines still count)
		case r.maxBytes > 0 && r.size > 0 && r.size+n > r.maxBytes,
			r.maxAge > 0 && r.now().Sub(r.started) >= r.maxAge:
			r.retireLocked()
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
	if r.mode != syncNever {
		// the new file's directory entry, or a power cut may take the whole file
		if err := syncDir(r.dir); err != nil {
			f.Close()
			return fmt.Errorf("sync directory %s: %w", r.dir, err)
		}
	}
	r.f, r.path, r.size, r.started = f, path, st.Size(), now
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// retireLocked closes the current file, fsyncing first what it holds unsynced.
func (r *rotator) retireLocked() {
	_ = r.syncLocked() // a failure is kept in r.lost
	r.closeLocked(nil)
}

// closeLocked closes the current file; if it held unsynced lines, why is kept for the
// next syncNow.
func (r *rotator) closeLocked(why error) {
	if r.f == nil {
		return
	}
	if r.dirty {
		if why == nil {
			why = fmt.Errorf("%s closed with unsynced lines", r.path)
		}
		r.lost = errors.Join(r.lost, why)
		r.dirty = false
	}
	r.f.Close()
	r.f = nil
}

// close fsyncs what is unsynced and closes the current file.
func (r *rotator) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.syncLocked()
	if r.f == nil {
		return err
	}
	err = r.f.Close()
	r.f = nil
	return err
}
