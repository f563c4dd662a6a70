package encoding

import (
	"sync"
	"time"
)

// Batcher collects items and hands them to Flush when Size items are waiting or
// Interval has passed since the first of them, whichever comes first (OPC Publisher's
// --bs/--bi), or before an item would take the batch past MaxBytes (--ms; an item larger
// than MaxBytes on its own goes alone). Size <= 1 disables batching.
// Flush is called with the lock held, so batches leave in order; it must not block.
type Batcher[T any] struct {
	Size     int
	Interval time.Duration
	// MaxBytes bounds the estimated encoded size of a batch (0 = no bound); Bytes
	// estimates one item.
	MaxBytes int
	Bytes    func(T) int
	Flush    func(items []T)

	mu    sync.Mutex
	items []T
	bytes int
	timer *time.Timer
	gen   uint64
}

// Add queues an item, flushing when the batch is full.
func (b *Batcher[T]) Add(items ...T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, it := range items {
		if b.MaxBytes > 0 && b.Bytes != nil {
			n := b.Bytes(it)
			if len(b.items) > 0 && b.bytes+n > b.MaxBytes {
				b.flushLocked()
			}
			b.bytes += n
		}
		b.items = append(b.items, it)
		if b.Size <= 1 || len(b.items) >= b.Size {
			b.flushLocked()
		}
	}
	if len(b.items) > 0 && b.timer == nil {
		if b.Interval <= 0 {
			b.flushLocked()
			return
		}
		gen := b.gen
		b.timer = time.AfterFunc(b.Interval, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.gen == gen {
				b.flushLocked()
			}
		})
	}
}

// FlushNow sends whatever is waiting.
func (b *Batcher[T]) FlushNow() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

// Stop flushes what is waiting and stops the timer.
func (b *Batcher[T]) Stop() { b.FlushNow() }

func (b *Batcher[T]) flushLocked() {
	b.gen++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.items) == 0 {
		return
	}
	items := b.items
	b.items, b.bytes = nil, 0
	b.Flush(items)
}
