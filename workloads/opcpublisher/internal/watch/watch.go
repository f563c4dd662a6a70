// Package watch follows a configuration file: it reports the content once at start and
// again whenever it changes. It watches the file's directory (so editors that replace
// the file and Kubernetes ConfigMap updates, which swap a symlink, are seen), waits for
// writes to settle, and compares content hashes so a touch without a change is ignored.
// A periodic re-read covers file systems without inotify.
package watch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher follows Path.
type Watcher struct {
	Path string
	// Settle is how long the file must stay quiet before it is read (default 200 ms).
	Settle time.Duration
	// Poll is the re-read period that catches missed events (default 10 s; <0 = never).
	Poll time.Duration
	// OnChange receives the content: once at start, then after each change.
	OnChange func(content []byte)
	// OnError receives read errors (a missing file while it is being replaced…).
	OnError func(err error)
	Log     *slog.Logger
}

// Run calls OnChange with the current content, then follows the file until ctx ends.
// It fails at once when the file cannot be read at start.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Settle == 0 {
		w.Settle = 200 * time.Millisecond
	}
	if w.Poll == 0 {
		w.Poll = 10 * time.Second
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	// Watch first, then read: a change right after the read is not missed.
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer fw.Close()
	dir := filepath.Dir(w.Path)
	if err := fw.Add(dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	b, err := os.ReadFile(w.Path)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	last := sha256.Sum256(b)
	w.OnChange(b)
	var poll <-chan time.Time
	if w.Poll > 0 {
		t := time.NewTicker(w.Poll)
		defer t.Stop()
		poll = t.C
	}
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	reread := func() {
		b, err := os.ReadFile(w.Path)
		if err != nil {
			if w.OnError != nil {
				w.OnError(fmt.Errorf("watch: %w", err))
			}
			return
		}
		if h := sha256.Sum256(b); h != last {
			last = h
			w.Log.Info("configuration file changed", "path", w.Path, "bytes", len(b))
			w.OnChange(b)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("watch: event channel closed")
			}
			// Any change in the directory may be ours (symlink swaps rename other names).
			_ = ev
			settle.Reset(w.Settle)
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("watch: error channel closed")
			}
			if w.OnError != nil {
				w.OnError(fmt.Errorf("watch: %w", err))
			}
		case <-settle.C:
			reread()
		case <-poll:
			reread()
		}
	}
}
