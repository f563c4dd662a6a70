package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gwtest"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/metrics"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/sink"
)

// gate wraps a real sink and can take it offline; it records when each message was stored.
type gate struct {
	sink.Sink
	mu     sync.Mutex
	down   bool
	stored map[string]time.Time
	calls  int
}

func newGate(s sink.Sink) *gate { return &gate{Sink: s, stored: map[string]time.Time{}} }

func (g *gate) set(down bool) { g.mu.Lock(); g.down = down; g.mu.Unlock() }

func (g *gate) Write(ctx context.Context, msgs []message.Message) error {
	g.mu.Lock()
	g.calls++
	down := g.down
	g.mu.Unlock()
	if down {
		return errors.New("sink unavailable")
	}
	err := g.Sink.Write(ctx, msgs)
	var be *sink.BatchError
	if err == nil || errors.As(err, &be) {
		now := time.Now()
		g.mu.Lock()
		for i, m := range msgs {
			if be == nil || (be.Rejected[i] == nil && be.Failed[i] == nil) {
				if _, dup := g.stored[m.ID]; !dup {
					g.stored[m.ID] = now
				}
			}
		}
		g.mu.Unlock()
	}
	return err
}

func (g *gate) count() int { g.mu.Lock(); defer g.mu.Unlock(); return len(g.stored) }

type env struct {
	buf *buffer.Buffer
	dl  *sink.DeadLetters
	m   *metrics.Metrics
	dir string
}

func newEnv(t *testing.T, sinks ...string) *env {
	t.Helper()
	return newEnvWith(t, buffer.Options{MaxBytes: 256 << 20, SegmentBytes: 4 << 20, Policy: buffer.PolicyReject, Sinks: sinks})
}

// newEnvWith is newEnv with the buffer's options (its directory is set here).
func newEnvWith(t *testing.T, o buffer.Options) *env {
	t.Helper()
	dir := t.TempDir()
	buf, dl := gwtest.Stores(t, dir, o)
	return &env{buf: buf, dl: dl, m: metrics.New(prometheus.NewRegistry()), dir: dir}
}

// appendMessages appends n CloudEvent messages with ids dev/<from+i>.
func (e *env) appendMessages(t *testing.T, from, n int, pad int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		ev := cloudevent.New("test", "dev", int64(i), "edgeframe/l2/test", time.Now(), json.RawMessage(fmt.Sprintf(`{"v":%d,"pad":"%s"}`, i, strings.Repeat("x", pad))))
		raw, _ := cloudevent.Encode(ev)
		m := message.Message{ID: ev.ID, Topic: "telemetry/test/dev", Key: "test/dev", ReceivedAt: time.Now(), Event: raw}
		if _, err := e.buf.Append(context.Background(), m.Marshal()); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) fileSink(t *testing.T, name string) *gate {
	t.Helper()
	f, err := sink.NewFile(name, sink.FileOptions{Dir: filepath.Join(e.dir, name), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return newGate(f)
}

func (e *env) run(t *testing.T, s sink.Sink, o Options) context.CancelFunc {
	t.Helper()
	if o.Retry.Initial == 0 {
		o.Retry = backoff.Policy{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	}
	d := New(e.buf, s, e.dl, o, e.m, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return cancel
}

func TestSinksDrainIndependentlyAndCommitCursors(t *testing.T) {
	e := newEnv(t, "up", "down")
	up, down := e.fileSink(t, "up"), e.fileSink(t, "down")
	down.set(true)
	e.run(t, up, Options{BatchMessages: 100})
	e.run(t, down, Options{BatchMessages: 100, BreakerFailures: 3, BreakerCooldown: 50 * time.Millisecond, ReplayMaxRate: 0})
	e.appendMessages(t, 0, 1000, 10)
	testkit.Eventually(t, 10*time.Second, "sink up to store 1000", func() bool { return up.count() == 1000 })
	testkit.Eventually(t, 5*time.Second, "cursor of up", func() bool { c, _ := e.buf.Cursor("up"); return c.Offset == 1000 })
	st := e.buf.Stats()
	if st.Sinks["down"].Messages != 1000 || down.count() != 0 {
		t.Fatalf("sink down: backlog %d, stored %d", st.Sinks["down"].Messages, down.count())
	}
	if got := testutil.ToFloat64(e.m.BreakerOpen.WithLabelValues("down")); got != 1 {
		t.Fatalf("breaker_open{down} = %v, want 1", got)
	}
	if testutil.ToFloat64(e.m.Retries.WithLabelValues("down")) == 0 {
		t.Fatal("no retries counted for the failing sink")
	}
	down.set(false)
	testkit.Eventually(t, 10*time.Second, "sink down to catch up", func() bool { return down.count() == 1000 })
	testkit.Eventually(t, 5*time.Second, "breaker to close", func() bool { return testutil.ToFloat64(e.m.BreakerOpen.WithLabelValues("down")) == 0 })
	if got := testutil.ToFloat64(e.m.Delivered.WithLabelValues("down")); got < 1000 {
		t.Fatalf("delivered{down} = %v", got)
	}
}

func TestBreakerStopsHammeringADeadSink(t *testing.T) {
	e := newEnv(t, "s")
	g := e.fileSink(t, "s")
	g.set(true)
	e.run(t, g, Options{BreakerFailures: 2, BreakerCooldown: time.Hour, Retry: backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond}})
	e.appendMessages(t, 0, 10, 1)
	callsNow := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.calls
	}
	testkit.Eventually(t, 5*time.Second, "two calls to the dead sink", func() bool { return callsNow() >= 2 })
	// The breaker is open for an hour: a third call (1 ms backoff) would come within this window.
	time.Sleep(200 * time.Millisecond)
	calls := callsNow()
	if calls != 2 {
		t.Fatalf("%d write attempts in 300 ms with an open breaker (cooldown 1 h), want exactly 2", calls)
	}
}

func TestSinkRejectedMessagesGoToDeadLettersAndDoNotBlock(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "telemetry"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k, err := sink.NewKafka("hub", sink.KafkaOptions{Brokers: c.ListenAddrs(), Topic: "telemetry", MaxRecordBytes: 2000, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	e := newEnv(t, "hub")
	g := newGate(k)
	e.run(t, g, Options{BatchMessages: 50})
	e.appendMessages(t, 0, 20, 10)
	e.appendMessages(t, 20, 3, 5000) // oversized for this sink
	e.appendMessages(t, 23, 20, 10)
	testkit.Eventually(t, 10*time.Second, "40 stored", func() bool { return g.count() == 40 })
	testkit.Eventually(t, 5*time.Second, "3 dead-lettered", func() bool {
		return testutil.ToFloat64(e.m.DeadLettered.WithLabelValues("sink:hub", "rejected")) == 3
	})
	files, _ := filepath.Glob(filepath.Join(e.dir, "deadletter", "*.jsonl"))
	data, _ := os.ReadFile(files[0])
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d dead letters", len(lines))
	}
	var dl sink.DeadLetterLine
	if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
		t.Fatal(err)
	}
	if dl.ID != "test/dev/20" || dl.Stage != "sink:hub" || !strings.Contains(dl.Reason, "exceeds the sink's maximum") || len(dl.Event) == 0 {
		t.Fatalf("dead letter %+v", dl)
	}
	testkit.Eventually(t, 5*time.Second, "cursor past everything", func() bool { c, _ := e.buf.Cursor("hub"); return c.Offset == 43 })
}

func TestReplayAfterOutageIsRateCappedWhileFreshDataFlows(t *testing.T) {
	testkit.SkipShort(t, "a rate-capped replay of about 3 s")
	e := newEnv(t, "s")
	g := e.fileSink(t, "s")
	g.set(true)
	const rate = 500.0
	e.run(t, g, Options{BatchMessages: 100, ReplayMaxRate: rate, ReplayThreshold: 200, BreakerFailures: 0})
	e.appendMessages(t, 0, 1500, 10)   // the backlog of the outage
	time.Sleep(100 * time.Millisecond) // the outage: the failing sink sees the backlog first
	g.set(false)
	testkit.Eventually(t, 5*time.Second, "replay to start", func() bool { return testutil.ToFloat64(e.m.ReplayActive.WithLabelValues("s")) == 1 })
	// fresh data during the replay is stored at once, not after the backlog
	time.Sleep(200 * time.Millisecond) // the replay is under way (at 500/s it lasts about 3 s)
	e.appendMessages(t, 1500, 10, 10)
	freshAt := time.Now()
	testkit.Eventually(t, 2*time.Second, "fresh messages", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		_, ok := g.stored["test/dev/1509"]
		return ok
	})
	freshLatency := time.Since(freshAt)
	testkit.Eventually(t, 10*time.Second, "backlog replayed", func() bool { return g.count() == 1510 })
	testkit.Eventually(t, 2*time.Second, "replay to end", func() bool { return testutil.ToFloat64(e.m.ReplayActive.WithLabelValues("s")) == 0 })
	g.mu.Lock()
	first, last := time.Time{}, time.Time{}
	for i := 0; i < 1500; i++ {
		at := g.stored[fmt.Sprintf("test/dev/%d", i)]
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	g.mu.Unlock()
	// burst (one batch of 100) then at most `rate` per second
	minDur := time.Duration(float64(1500-100) / rate * float64(time.Second))
	if span := last.Sub(first); span < minDur*9/10 {
		t.Fatalf("1500 backlog messages replayed in %s: faster than the cap of %.0f/s (minimum %s)", span, rate, minDur)
	}
	if freshLatency > time.Second {
		t.Fatalf("fresh messages waited %s behind the replay", freshLatency)
	}
	// the first batch taken before the outage was noticed is retried by the live lane
	if got := testutil.ToFloat64(e.m.Replayed.WithLabelValues("s")); got < 1400 || got > 1500 {
		t.Fatalf("replayed_messages_total = %v, want the backlog after the first batch (1400-1500)", got)
	}
	testkit.Eventually(t, 2*time.Second, "cursor at the end", func() bool { c, _ := e.buf.Cursor("s"); return c.Offset == 1510 })
}

// TestBatchDroppedWhileRetryingIsNotDelivered holds a batch in retry while drop-oldest
// deletes its segment: the batch is abandoned, so what is counted as dropped is exactly
// what never reaches the sink.
func TestBatchDroppedWhileRetryingIsNotDelivered(t *testing.T) {
	var dropped atomic.Uint64
	e := newEnvWith(t, buffer.Options{MaxBytes: 64 << 10, SegmentBytes: 16 << 10, Policy: buffer.PolicyDropOldest, Sinks: []string{"s"},
		OnDrop: func(_ string, n uint64, _ string) { dropped.Add(n) }})
	g := e.fileSink(t, "s")
	g.set(true)
	e.appendMessages(t, 0, 20, 900) // the batch the drainer will hold
	e.run(t, g, Options{BatchMessages: 100})
	testkit.Eventually(t, 5*time.Second, "the first batch to be retried", func() bool {
		return testutil.ToFloat64(e.m.Retries.WithLabelValues("s")) >= 20
	})
	e.appendMessages(t, 20, 200, 900) // ~200 KiB into 64 KiB: the held batch's segment goes
	if dropped.Load() < 20 {
		t.Fatalf("only %d records dropped; the held batch should be among them", dropped.Load())
	}
	g.set(false)
	testkit.Eventually(t, 10*time.Second, "the backlog to drain", func() bool { return e.buf.Stats().Sinks["s"].Messages == 0 })
	if got := uint64(g.count()) + dropped.Load(); got != 220 {
		t.Fatalf("stored %d + dropped %d = %d, want 220", g.count(), dropped.Load(), got)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := 0; i < 20; i++ {
		if _, ok := g.stored[fmt.Sprintf("test/dev/%d", i)]; ok {
			t.Fatalf("test/dev/%d was counted as dropped and delivered", i)
		}
	}
	for i := 190; i < 220; i++ {
		if _, ok := g.stored[fmt.Sprintf("test/dev/%d", i)]; !ok {
			t.Fatalf("test/dev/%d, one of the newest, is missing", i)
		}
	}
}
