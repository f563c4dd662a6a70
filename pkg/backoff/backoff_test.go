package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/backoff"
)

func TestDelayGrowsAndIsCapped(t *testing.T) {
	p := backoff.Policy{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := p.Ceiling(i); got != w*time.Millisecond && !(w == 1000 && got == time.Second) {
			t.Errorf("attempt %d: ceiling %s, want %dms", i, got, w)
		}
		lo, hi := p.Delay(i, func() float64 { return 0 }), p.Delay(i, func() float64 { return 0.999999 })
		if lo != p.Ceiling(i)/2 || hi > p.Ceiling(i) || hi < lo {
			t.Errorf("attempt %d: jitter range [%s,%s] for ceiling %s", i, lo, hi, p.Ceiling(i))
		}
	}
	if p.Ceiling(10000) != time.Second {
		t.Error("huge attempt overflowed the cap")
	}
}

func TestSleepHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := backoff.Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("got %v", err)
	}
}
