package daprpub_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/test/testkit"
)

// flaky is a Publisher that fails while down is set and records what it published.
type flaky struct {
	mu   sync.Mutex
	down atomic.Bool
	got  []string
}

func (f *flaky) Publish(_ context.Context, _, _ string, ev cloudevent.Event) error {
	if f.down.Load() {
		return errors.New("sidecar unavailable")
	}
	f.mu.Lock()
	f.got = append(f.got, ev.ID)
	f.mu.Unlock()
	return nil
}

func (f *flaky) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func item(seq int64) daprpub.Item {
	return daprpub.Item{PubSub: "edge-pubsub", Topic: "telemetry/t/x",
		Event: cloudevent.New("t", "x", seq, "edgeframe/l2/t", time.Now(), json.RawMessage(`{}`))}
}

func TestQueueRetriesInOrderThroughAnOutage(t *testing.T) {
	pub := &flaky{}
	pub.down.Store(true)
	var retries atomic.Int64
	q := daprpub.NewQueue(pub, daprpub.QueueConfig{Capacity: 100,
		Backoff: backoff.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond},
		Hooks:   daprpub.Hooks{Retried: func(daprpub.Item, int, error) { retries.Add(1) }}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	for i := int64(1); i <= 10; i++ {
		if err := q.Enqueue(item(i)); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 5*time.Second, "a retry while the sidecar is down", func() bool { return retries.Load() > 0 })
	if len(pub.ids()) != 0 || retries.Load() == 0 {
		t.Fatalf("published %v with %d retries while down", pub.ids(), retries.Load())
	}
	pub.down.Store(false)
	q.Close()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	cancel()
	got := pub.ids()
	if len(got) != 10 {
		t.Fatalf("published %d of 10: %v", len(got), got)
	}
	for i, id := range got {
		if id != cloudevent.NewID("t", "x", int64(i+1)) {
			t.Fatalf("out of order at %d: %v", i, got)
		}
	}
}

func TestQueueDropsOldestWhenFullAndReportsIt(t *testing.T) {
	pub := &flaky{}
	pub.down.Store(true)
	var dropped []string
	q := daprpub.NewQueue(pub, daprpub.QueueConfig{Capacity: 3,
		Hooks: daprpub.Hooks{Dropped: func(it daprpub.Item, reason string) { dropped = append(dropped, it.Event.ID+" "+reason) }}})
	for i := int64(1); i <= 5; i++ {
		_ = q.Enqueue(item(i))
	}
	if q.Len() != 3 {
		t.Fatalf("len %d", q.Len())
	}
	want := []string{"t/x/1 queue full", "t/x/2 queue full"}
	if len(dropped) != 2 || dropped[0] != want[0] || dropped[1] != want[1] {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	q.Close()
	if err := q.Enqueue(item(6)); !errors.Is(err, daprpub.ErrClosed) {
		t.Fatalf("enqueue after close: %v", err)
	}
}

// gate is a Publisher whose calls block until released; it records the most calls in
// progress at once and fails the calls whose first event is in failOnce, once.
type gate struct {
	release  chan struct{}
	running  atomic.Int64
	maxSeen  atomic.Int64
	mu       sync.Mutex
	failOnce map[string]bool
	got      map[string]int
}

func (g *gate) Publish(ctx context.Context, _, _ string, ev cloudevent.Event) error {
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for {
		m := g.maxSeen.Load()
		if n <= m || g.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failOnce[ev.ID] {
		delete(g.failOnce, ev.ID)
		return errors.New("broker refused")
	}
	g.got[ev.ID]++
	return nil
}

// With InFlight 4 the queue keeps four calls going (never more), counts their items in
// Len and Capacity, and retries a failed call's item: every event is published once.
func TestQueueKeepsInFlightCallsGoingAndRetriesFailedOnes(t *testing.T) {
	g := &gate{release: make(chan struct{}), failOnce: map[string]bool{"t/x/3": true}, got: map[string]int{}}
	q := daprpub.NewQueue(g, daprpub.QueueConfig{Capacity: 100, InFlight: 4,
		Backoff: backoff.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	for i := int64(1); i <= 20; i++ {
		if err := q.Enqueue(item(i)); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 5*time.Second, "4 calls in progress", func() bool { return g.running.Load() >= 4 })
	time.Sleep(20 * time.Millisecond) // a fifth call would have started by now
	if n := g.running.Load(); n != 4 {
		t.Fatalf("%d calls in progress, want 4", n)
	}
	if q.Len() != 20 {
		t.Fatalf("Len %d while 4 are in flight and 16 wait, want 20", q.Len())
	}
	q.Close()
	close(g.release) // let every call through
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if g.maxSeen.Load() > 4 {
		t.Fatalf("%d calls at once, want at most 4", g.maxSeen.Load())
	}
	for i := int64(1); i <= 20; i++ {
		if id := cloudevent.NewID("t", "x", i); g.got[id] != 1 {
			t.Fatalf("%s published %d times: %v", id, g.got[id], g.got)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len %d after the queue drained", q.Len())
	}
}

// TestStopPublishesWhatIsQueuedWithinTheGrace: Stop lets the queue drain, and when the
// sidecar stays down it gives up after the grace period and reports what was not sent.
func TestStopPublishesWhatIsQueuedWithinTheGrace(t *testing.T) {
	for _, down := range []bool{false, true} {
		pub := &flaky{}
		pub.down.Store(down)
		q := daprpub.NewQueue(pub, daprpub.QueueConfig{Capacity: 100, Backoff: backoff.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond}})
		for i := int64(1); i <= 10; i++ {
			if err := q.Enqueue(item(i)); err != nil {
				t.Fatal(err)
			}
		}
		r := q.Start()
		start := time.Now()
		unsent := r.Stop(200 * time.Millisecond)
		took := time.Since(start)
		select {
		case <-r.Drained():
		default:
			t.Fatalf("down=%v: Stop returned with the queue still running", down)
		}
		switch {
		case !down && (unsent != 0 || len(pub.ids()) != 10):
			t.Fatalf("sidecar up: %d unsent, %d published, want 0 and 10", unsent, len(pub.ids()))
		case down && (unsent != 10 || len(pub.ids()) != 0):
			t.Fatalf("sidecar down: %d unsent, %d published, want 10 and 0", unsent, len(pub.ids()))
		case down && took < 200*time.Millisecond:
			t.Fatalf("sidecar down: Stop gave up after %s, before its grace of 200ms", took)
		}
	}
}
