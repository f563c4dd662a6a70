package sensor_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/pkg/seqstore"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/model"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/sensor"
)

// fakeClock jumps to every deadline at once and calls onTick with the number of
// periods slept so far, so a test acts "between messages".
type fakeClock struct {
	now    time.Time
	ticks  int
	onTick func(tick int)
	// lag is added to every wake-up (a slow machine).
	lag time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.After(c.now) {
		c.now = t
	}
	c.now = c.now.Add(c.lag)
	c.ticks++
	if c.onTick != nil {
		c.onTick(c.ticks)
	}
	return ctx.Err()
}

type capture struct {
	mu    sync.Mutex
	items []daprpub.Item
	err   error
}

func (c *capture) Enqueue(it daprpub.Item) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.items = append(c.items, it)
	return nil
}

var start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func newSensor(cfg sensor.Config, clk *fakeClock) (*sensor.Sensor, *capture, *sensor.Metrics) {
	q := &capture{}
	met := sensor.NewMetrics(nil, nil)
	m := model.New(model.DefaultParams(), rand.New(rand.NewPCG(1, 1)))
	return sensor.New(cfg, m, q, clk, met, nil), q, met
}

func baseConfig() sensor.Config {
	return sensor.Config{DeviceID: "dev7", Source: cloudevent.SourceFor("l2", "tempsensor"), PubSub: "edge-pubsub",
		Topic: "telemetry/tempsensor/dev7", BatchID: "6f1c2b0e-0000-4000-8000-000000000001", Delay: 5 * time.Second, Count: 5, SendData: true}
}

func body(t *testing.T, it daprpub.Item) model.Body {
	t.Helper()
	var b model.Body
	if err := json.Unmarshal(it.Event.Data, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMessageCountAndEventAttributes(t *testing.T) {
	clk := &fakeClock{now: start}
	s, q, met := newSensor(baseConfig(), clk)
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(q.items) != 5 {
		t.Fatalf("%d messages, want MessageCount 5", len(q.items))
	}
	for i, it := range q.items {
		seq := int64(i + 1)
		ev := it.Event
		if err := ev.Validate(); err != nil {
			t.Fatal(err)
		}
		if ev.ID != cloudevent.NewID("tempsensor", "dev7", seq) || ev.Sequence != seq || ev.Type != "io.edgeframe.telemetry.tempsensor.v1" ||
			ev.Source != "edgeframe/l2/tempsensor" || ev.Extensions["batchid"] != baseConfig().BatchID || ev.Subject != "dev7" {
			t.Errorf("message %d: %+v", seq, ev)
		}
		if it.PubSub != "edge-pubsub" || it.Topic != "telemetry/tempsensor/dev7" {
			t.Errorf("message %d goes to %s/%s", seq, it.PubSub, it.Topic)
		}
		want := start.Add(time.Duration(i) * 5 * time.Second)
		if b := body(t, it); !b.TimeCreated.Equal(want) || !ev.Time.Equal(want) {
			t.Errorf("message %d created %v (event time %v), want %v", seq, b.TimeCreated, ev.Time, want)
		}
	}
	if st := s.State(); !st.Done || st.Sequence != 5 {
		t.Errorf("state %+v", st)
	}
	if got := testutil.ToFloat64(met.Produced); got != 5 {
		t.Errorf("produced counter %g", got)
	}
	// no sleep after the last message: the run ends when the count is reached
	if clk.ticks != 4 {
		t.Errorf("%d periods slept for 5 messages, want 4", clk.ticks)
	}
}

func TestPauseKeepsTheModelRunningAndTheSequenceContiguous(t *testing.T) {
	cfg := baseConfig()
	cfg.Count = 6
	clk := &fakeClock{now: start}
	s, q, met := newSensor(cfg, clk)
	clk.onTick = func(tick int) {
		switch tick {
		case 2:
			s.SetSendData(false)
		case 7:
			s.SetSendData(true)
		}
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(q.items) != 6 {
		t.Fatalf("%d messages", len(q.items))
	}
	// paused after the second period's sleep, resumed after the seventh:
	// periods 0,1 send; 2..6 are paused; 7..10 send
	wantPeriod := []int{0, 1, 7, 8, 9, 10}
	for i, it := range q.items {
		if it.Event.Sequence != int64(i+1) {
			t.Errorf("message %d has sequence %d", i, it.Event.Sequence)
		}
		if want := start.Add(time.Duration(wantPeriod[i]) * cfg.Delay); !body(t, it).TimeCreated.Equal(want) {
			t.Errorf("message %d created %v, want period %d", i+1, body(t, it).TimeCreated, wantPeriod[i])
		}
	}
	if testutil.ToFloat64(met.SendData) != 1 {
		t.Error("send_data gauge not back to 1")
	}
}

func TestResetReturnsToMachineTempMin(t *testing.T) {
	cfg := baseConfig()
	cfg.Count = 400
	clk := &fakeClock{now: start}
	s, q, met := newSensor(cfg, clk)
	resetAt := -1
	clk.onTick = func(tick int) {
		if resetAt < 0 && s.State().Temperature > 60 {
			resetAt = tick
			s.Reset()
		}
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resetAt < 0 {
		t.Fatal("never reached 60 °C")
	}
	before, after := body(t, q.items[resetAt-1]).Machine.Temperature, body(t, q.items[resetAt]).Machine.Temperature
	if before <= 60 || after < 20.75 || after >= 22.25 {
		t.Errorf("around the reset: %g then %g, want >60 then 21+[-0.25,1.25)", before, after)
	}
	if testutil.ToFloat64(met.Resets) != 1 {
		t.Error("resets counter")
	}
}

func TestUnlimitedRunsUntilCancelled(t *testing.T) {
	cfg := baseConfig()
	cfg.Count = -1
	clk := &fakeClock{now: start}
	s, q, _ := newSensor(cfg, clk)
	ctx, cancel := context.WithCancel(context.Background())
	clk.onTick = func(tick int) {
		if tick == 1000 {
			cancel()
		}
	}
	if err := s.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if len(q.items) != 1000 || s.State().Done {
		t.Fatalf("%d messages, done %v", len(q.items), s.State().Done)
	}
}

func TestFallingFarBehindSkipsLostPeriods(t *testing.T) {
	cfg := baseConfig()
	cfg.Delay = time.Millisecond
	cfg.Count = 3
	clk := &fakeClock{now: start, lag: 2 * time.Second}
	s, _, met := newSensor(cfg, clk)
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(met.Resyncs); got != 1 {
		t.Errorf("resyncs %g, want 1 (the first 2 s lag; later periods start from the new schedule)", got)
	}
}

func TestQueueErrorEndsTheRun(t *testing.T) {
	clk := &fakeClock{now: start}
	s, q, _ := newSensor(baseConfig(), clk)
	q.err = daprpub.ErrClosed
	if err := s.Run(context.Background()); !errors.Is(err, daprpub.ErrClosed) || !strings.Contains(err.Error(), "message 1") {
		t.Fatalf("err %v", err)
	}
}

func TestTracedMessagesCarryTraceparent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cfg := baseConfig()
	cfg.Count = 2
	cfg.Tracer = tp.Tracer("tempsensor")
	s, q, _ := newSensor(cfg, &fakeClock{now: start})
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	for i, it := range q.items {
		sc := spans[i].SpanContext()
		want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
		if it.Event.TraceParent != want {
			t.Errorf("message %d traceparent %q, want %q", i+1, it.Event.TraceParent, want)
		}
	}
	// untraced (no-op tracer): no traceparent
	s2, q2, _ := newSensor(baseConfig(), &fakeClock{now: start})
	_ = s2.Run(context.Background())
	if q2.items[0].Event.TraceParent != "" {
		t.Errorf("traceparent without a tracer: %q", q2.items[0].Event.TraceParent)
	}
}

func seqs(q *capture) []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]int64, len(q.items))
	for i, it := range q.items {
		out[i] = it.Event.Sequence
		if it.Event.ID != cloudevent.NewID("tempsensor", "dev7", it.Event.Sequence) {
			panic("id " + it.Event.ID)
		}
	}
	return out
}

func wantSeqs(t *testing.T, got []int64, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from+1 {
		t.Fatalf("sequences %v, want %d..%d", got, from, to)
	}
	for i, s := range got {
		if s != from+int64(i) {
			t.Fatalf("sequences %v, want %d..%d", got, from, to)
		}
	}
}

// With a state file, a restarted sensor continues after the previous run's sequences:
// no id is produced twice, and MessageCount still counts the messages of each run.
func TestRestartWithTheSameStateContinuesTheSequence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq-dev7")
	var all []int64
	for run := range 3 {
		cfg := baseConfig()
		cfg.Seq = seqstore.NewLazy(path)
		s, q, _ := newSensor(cfg, &fakeClock{now: start})
		if err := s.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := cfg.Seq.Close(); err != nil {
			t.Fatal(err)
		}
		got := seqs(q)
		wantSeqs(t, got, int64(run*5+1), int64(run*5+5))
		if st := s.State(); st.Sequence != got[4] || !st.Done {
			t.Errorf("run %d: state %+v, want last sequence %d", run, st, got[4])
		}
		all = append(all, got...)
	}
	wantSeqs(t, all, 1, 15)
}

// While the mark cannot be persisted nothing is sent, SequenceErr says why (naming the
// file) and the failure is logged and counted; once the directory is back the sequence
// continues where it stopped.
func TestSequenceStoreFailureStopsSendingUntilItRecovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "seq-dev7")
	cfg := baseConfig()
	cfg.Count = 6
	cfg.Seq = seqstore.NewLazy(path, seqstore.Block(3))
	defer cfg.Seq.Close()
	var logs syncBuf
	clk := &fakeClock{now: start}
	q := &capture{}
	met := sensor.NewMetrics(nil, nil)
	s := sensor.New(cfg, model.New(model.DefaultParams(), rand.New(rand.NewPCG(1, 1))), q, clk, met,
		slog.New(slog.NewJSONHandler(&logs, nil)))
	var during []error
	var sentDuring int
	clk.onTick = func(tick int) {
		switch {
		case tick == 3: // 1..3 sent (mark 4 on disk); the 4th needs the next block
			if err := os.Rename(dir, dir+".away"); err != nil {
				t.Fatal(err)
			}
		case tick > 3 && tick < 10:
			during = append(during, s.SequenceErr())
			sentDuring = len(q.items)
		case tick == 10:
			if err := os.Rename(dir+".away", dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, seqs(q), 1, 6)
	if sentDuring != 3 {
		t.Errorf("%d messages sent while the store failed, want the 3 of the first block", sentDuring)
	}
	for i, err := range during {
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("SequenceErr %d periods into the failure: %v, want an error naming %s", i+1, err, path)
		}
	}
	if err := s.SequenceErr(); err != nil {
		t.Errorf("SequenceErr after the recovery: %v", err)
	}
	if got := testutil.ToFloat64(met.SequenceFailures); got < 5 {
		t.Errorf("sequence store failures counted %g, want one per period of the outage", got)
	}
	for _, want := range []string{"cannot persist the message sequence", "sequence store works again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// A corrupt state file is reported from the start (never read as a fresh start): nothing
// is sent until it is repaired, then the sequence starts at the repaired mark.
func TestCorruptStateFileIsReportedAndNeverReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq-dev7")
	if err := os.WriteFile(path, []byte("seqstore v1 next=12"), 0o600); err != nil { // no newline: truncated
		t.Fatal(err)
	}
	cfg := baseConfig()
	cfg.Count = 2
	cfg.Seq = seqstore.NewLazy(path)
	defer cfg.Seq.Close()
	clk := &fakeClock{now: start}
	s, q, _ := newSensor(cfg, clk)
	var atStart error
	clk.onTick = func(tick int) {
		switch tick {
		case 1:
			atStart = s.SequenceErr()
		case 5:
			if err := os.WriteFile(path, []byte("seqstore v1 next=4000\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(atStart, seqstore.ErrCorrupt) || !strings.Contains(atStart.Error(), path) {
		t.Fatalf("SequenceErr with a corrupt file: %v", atStart)
	}
	wantSeqs(t, seqs(q), 4000, 4001)
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *syncBuf) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }
