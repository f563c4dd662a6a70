package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// FileOptions configures the local file sink.
type FileOptions struct {
	// Dir receives telemetry-<UTC start>.jsonl files.
	Dir string
	// MaxFileBytes starts a new file when the current one would grow past it (0 = never).
	MaxFileBytes int64
	// MaxFileAge starts a new file when the current one is older (0 = never).
	MaxFileAge time.Duration
	// NoSync never fsyncs (faster, but a power cut may lose lines already acknowledged
	// to the buffer). Otherwise Sync fsyncs what the writes since the last Sync left.
	NoSync bool
	Now    func() time.Time
}

// File writes each message as one JSON line (message.Line) to rotating files.
type File struct {
	name string
	rot  *rotator

	mu    sync.Mutex
	spare []byte
}

// maxSpareLines bounds the batch buffer a File keeps for reuse.
const maxSpareLines = 4 << 20

// takeBuf returns the spare batch buffer (empty), so a steady drain does not allocate a
// fresh one per batch.
func (f *File) takeBuf() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.spare
	f.spare = nil
	return b[:0]
}

func (f *File) putBuf(b []byte) {
	if cap(b) > maxSpareLines {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cap(b) > cap(f.spare) {
		f.spare = b[:0]
	}
}

// NewFile returns the file sink called name.
func NewFile(name string, o FileOptions) (*File, error) {
	if o.Dir == "" {
		return nil, errors.New("sink: file: dir: required")
	}
	mode := syncDeferred
	if o.NoSync {
		mode = syncNever
	}
	return &File{name: name, rot: newRotator(o.Dir, "telemetry", o.MaxFileBytes, o.MaxFileAge, mode, o.Now)}, nil
}

// Name is the configured sink name.
func (f *File) Name() string { return f.name }

// Write appends the batch's lines with one write. They are durable after the next Sync.
func (f *File) Write(_ context.Context, msgs []message.Message) error {
	size := 0
	for _, m := range msgs {
		size += len(m.Event) + len(m.ID) + len(m.Topic) + len(m.Key) + 128
	}
	var (
		buf = slices.Grow(f.takeBuf(), size)
		err error
		be  BatchError
	)
	defer func() { f.putBuf(buf) }()
	for i, m := range msgs {
		n := len(buf)
		if buf, err = message.AppendLine(buf, m); err != nil {
			buf = buf[:n]
			be.reject(i, err)
		}
	}
	if err := f.rot.write(buf); err != nil {
		return fmt.Errorf("sink %s: %w", f.name, err)
	}
	return be.orNil()
}

// Sync makes every line written so far durable: one fsync for all the batches since the
// last Sync (the drainer commits its cursor only after it). An error means some of them
// may not be, and must be written again.
func (f *File) Sync() error {
	if err := f.rot.syncNow(); err != nil {
		return fmt.Errorf("sink %s: %w", f.name, err)
	}
	return nil
}

// Close syncs and closes the current file.
func (f *File) Close() error { return f.rot.close() }
