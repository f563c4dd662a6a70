// Package backoff computes capped exponential delays with full jitter, shared by every
// reconnect and retry loop.
package backoff

import (
	"context"
	"math"
	"time"
)

// Policy is a capped exponential backoff. The zero value is not useful; see Default.
type Policy struct {
	Initial    time.Duration // delay before the first retry, before jitter
	Max        time.Duration // cap of the delay, before jitter
	Multiplier float64       // growth per attempt (2 when zero)
}

// Default is 100 ms doubling up to 30 s.
var Default = Policy{Initial: 100 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2}

// Ceiling is the un-jittered delay for attempt (0-based).
func (p Policy) Ceiling(attempt int) time.Duration {
	m := p.Multiplier
	if m <= 1 {
		m = 2
	}
	if attempt < 0 {
		attempt = 0
	}
	d := float64(p.Initial) * math.Pow(m, float64(attempt))
	if d > float64(p.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		return p.Max
	}
	return time.Duration(d)
}

// Delay is the jittered delay for attempt: uniform in [ceiling/2, ceiling], so retries
// from many clients spread out but never collapse to zero. rnd returns [0,1).
func (p Policy) Delay(attempt int, rnd func() float64) time.Duration {
	c := p.Ceiling(attempt)
	return c/2 + time.Duration(rnd()*float64(c/2))
}

// Sleep waits d or until ctx is done, returning ctx.Err() in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
