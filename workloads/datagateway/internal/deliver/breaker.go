package deliver

import (
	"context"
	"sync"
	"time"
)

// breaker is a consecutive-failure circuit breaker: after `failures` failed writes in a
// row it opens for `cooldown`; then one trial write is let through (half-open) and its
// result closes or re-opens it.
type breaker struct {
	failures int
	cooldown time.Duration
	now      func() time.Time
	onChange func(open bool)

	mu        sync.Mutex
	streak    int
	openUntil time.Time
	open      bool
}

// wait blocks while the breaker is open.
func (b *breaker) wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		d := b.openUntil.Sub(b.now())
		b.mu.Unlock()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (b *breaker) success() {
	b.mu.Lock()
	was := b.open
	b.streak, b.open, b.openUntil = 0, false, time.Time{}
	b.mu.Unlock()
	if was && b.onChange != nil {
		b.onChange(false)
	}
}

// failure records a failed write and reports whether the breaker (re)opened.
func (b *breaker) failure() bool {
	b.mu.Lock()
	b.streak++
	opened := false
	if b.failures > 0 && b.streak >= b.failures {
		b.openUntil = b.now().Add(b.cooldown)
		opened = !b.open
		b.open = true
	}
	b.mu.Unlock()
	if opened && b.onChange != nil {
		b.onChange(true)
	}
	return opened
}

func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}
