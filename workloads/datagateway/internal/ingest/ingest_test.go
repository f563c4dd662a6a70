package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gwtest"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/metrics"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/sink"
)

const validEvent = `{"specversion":"1.0","id":"tempsensor/dev1/7","source":"edgeframe/l2/tempsensor","type":"io.edgeframe.telemetry.tempsensor.v1",` +
	`"time":"2026-01-02T03:04:05Z","datacontenttype":"application/json","sequence":7,` +
	`"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","data":{"machine":{"temperature":21.5}}}`

type fixture struct {
	h   *Handler
	buf *buffer.Buffer
	dir string
	rec *tracetest.SpanRecorder
}

func newFixture(t *testing.T, maxBytes int64) *fixture {
	t.Helper()
	dir := t.TempDir()
	buf, dl := gwtest.Stores(t, dir, buffer.Options{MaxBytes: maxBytes, SegmentBytes: 4096, Policy: buffer.PolicyReject, Sinks: []string{"s"}})
	rec := tracetest.NewSpanRecorder()
	h := &Handler{Buffer: buf, DeadLetter: dl, MaxMessageBytes: 2048, Metrics: metrics.New(prometheus.NewRegistry()),
		Tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))}
	return &fixture{h: h, buf: buf, dir: dir, rec: rec}
}

func (f *fixture) deadLetters(t *testing.T) []sink.DeadLetterLine {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(f.dir, "deadletter", "*.jsonl"))
	var out []sink.DeadLetterLine
	for _, p := range files {
		data, _ := os.ReadFile(p)
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var d sink.DeadLetterLine
			if err := json.Unmarshal([]byte(l), &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
	}
	return out
}

func TestValidEventIsDurableBeforeSuccessAndContinuesTheTrace(t *testing.T) {
	f := newFixture(t, 1<<20)
	retry, err := f.h.Handle(context.Background(), "telemetry/tempsensor/dev1", []byte(validEvent))
	if retry || err != nil {
		t.Fatalf("valid event: retry=%v err=%v", retry, err)
	}
	if f.buf.End() != 1 {
		t.Fatalf("buffer holds %d records after success, want 1", f.buf.End())
	}
	recs, err := f.buf.NewReader("s", buffer.Position{}).Next(context.Background(), 10, 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := message.Unmarshal(recs[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "tempsensor/dev1/7" || m.Key != "tempsensor/dev1" || m.Topic != "telemetry/tempsensor/dev1" || string(m.Event) != validEvent ||
		!m.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("stored message %+v", m)
	}
	spans := f.rec.Ended()
	if len(spans) != 1 || spans[0].Parent().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || spans[0].Parent().SpanID().String() != "b7ad6b7169203331" {
		t.Fatalf("ingest span does not continue the event's traceparent: %+v", spans)
	}
	if got := testutil.ToFloat64(f.h.Metrics.Received.WithLabelValues("accepted")); got != 1 {
		t.Fatalf("received{accepted} = %v", got)
	}
}

func TestSubjectIsThePartitionKey(t *testing.T) {
	m, p := Decode("telemetry/opcua/group1", []byte(strings.Replace(validEvent, `"sequence":7`, `"sequence":7,"subject":"press-7"`, 1)), 0, time.Now())
	if p != nil || m.Key != "press-7" {
		t.Fatalf("key %q poison %v", m.Key, p)
	}
}

func TestPoisonMessagesAreDeadLetteredWithTheirReasonAndAcknowledged(t *testing.T) {
	f := newFixture(t, 1<<20)
	cases := []struct{ name, raw, reason string }{
		{"not json", "\x00\x01 binary garbage", "undecodable: cloudevent: not a JSON object"},
		{"missing id", strings.Replace(validEvent, `"id":"tempsensor/dev1/7",`, "", 1), `undecodable: cloudevent: field "id": required`},
		{"data not an object", strings.Replace(validEvent, `"data":{"machine":{"temperature":21.5}}`, `"data":"x"`, 1), `field "data": must be a JSON object`},
		{"oversized", strings.Replace(validEvent, `"temperature":21.5`, `"temperature":21.5,"pad":"`+strings.Repeat("x", 3000)+`"`, 1), "oversized: message of"},
	}
	for _, c := range cases {
		retry, err := f.h.Handle(context.Background(), "telemetry/x", []byte(c.raw))
		if retry || err != nil {
			t.Fatalf("%s: poison must be acknowledged, got retry=%v err=%v", c.name, retry, err)
		}
	}
	if f.buf.End() != 0 {
		t.Fatalf("poison reached the buffer: %d records", f.buf.End())
	}
	dl := f.deadLetters(t)
	if len(dl) != len(cases) {
		t.Fatalf("%d dead letters, want %d", len(dl), len(cases))
	}
	for i, c := range cases {
		if !strings.Contains(dl[i].Reason, c.reason) || dl[i].Stage != "ingest" || dl[i].Topic != "telemetry/x" {
			t.Errorf("%s: dead letter %+v, want reason containing %q", c.name, dl[i], c.reason)
		}
	}
	if string(dl[0].PayloadBase64) != cases[0].raw || dl[1].Event == nil {
		t.Errorf("payloads not kept: %q / %s", dl[0].PayloadBase64, dl[1].Event)
	}
	if got := testutil.ToFloat64(f.h.Metrics.DeadLettered.WithLabelValues("ingest", "undecodable")); got != 3 {
		t.Errorf("deadlettered{ingest,undecodable} = %v, want 3", got)
	}
	if got := testutil.ToFloat64(f.h.Metrics.DeadLettered.WithLabelValues("ingest", "oversized")); got != 1 {
		t.Errorf("deadlettered{ingest,oversized} = %v, want 1", got)
	}
}

func TestFullBufferUnderRejectPolicyAsksDaprToRetry(t *testing.T) {
	f := newFixture(t, 16384) // 4 segments of 4 KiB
	var retried int
	for i := 0; i < 100; i++ {
		retry, err := f.h.Handle(context.Background(), "telemetry/tempsensor/dev1", []byte(validEvent))
		if err != nil {
			if !retry || !errors.Is(err, buffer.ErrFull) {
				t.Fatalf("full buffer: retry=%v err=%v", retry, err)
			}
			retried++
		}
	}
	if retried == 0 {
		t.Fatal("the buffer never filled")
	}
	if got := testutil.ToFloat64(f.h.Metrics.Received.WithLabelValues("rejected_full")); got != float64(retried) {
		t.Fatalf("received{rejected_full} = %v, want %d", got, retried)
	}
}

// FuzzDecode: no input panics; what is accepted round-trips through the buffer record
// format and decodes again to the same id.
func FuzzDecode(f *testing.F) {
	f.Add("telemetry/tempsensor/dev1", []byte(validEvent))
	f.Add("telemetry/x", []byte(`{"specversion":"1.0","id":"a","source":"s","type":"t","data":{}}`))
	f.Add("telemetry/x", []byte(`{"specversion":"1.0","id":"a","source":"s","type":"t","sequence":"12","data":{"a":[1,2]}}`))
	f.Add("telemetry/x", []byte(`{"data_base64":"AAAA"}`))
	f.Add("t", []byte(`[]`))
	f.Add("", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, topic string, raw []byte) {
		now := time.Unix(1700000000, 0)
		m, p := Decode(topic, raw, 1<<16, now)
		if p != nil {
			if p.Class != "undecodable" && p.Class != "oversized" || p.Detail == "" {
				t.Fatalf("poison without a reason: %+v", p)
			}
			return
		}
		got, err := message.Unmarshal(m.Marshal())
		if err != nil {
			t.Fatalf("accepted message does not round-trip: %v", err)
		}
		if got.ID != m.ID || got.Topic != topic || string(got.Event) != string(raw) {
			t.Fatalf("round trip changed the message")
		}
		ev, err := cloudevent.Decode(got.Event)
		if err != nil || ev.ID != m.ID || m.ID == "" {
			t.Fatalf("stored event does not decode to the same id: %v", err)
		}
	})
}

// TestAdmissionBoundsCallsInProgress checks the soft bound on deliveries in progress: a
// call past the bound waits for a slot, a slot comes back when the handler returns, a
// call whose stream ends while it waits gives up without one, and a call never waits
// longer than maxWait.
func TestAdmissionBoundsCallsInProgress(t *testing.T) {
	a := newAdmission(1, 300*time.Millisecond)
	unary := func(ctx context.Context, inHandler func()) {
		_, _ = a.unary(ctx, nil, nil, func(context.Context, any) (any, error) { inHandler(); return nil, nil })
	}
	// call 1 holds the only slot until done1 is closed
	in1, done1 := make(chan struct{}), make(chan struct{})
	go unary(context.Background(), func() { close(in1); <-done1 })
	<-in1

	admitted := make(chan time.Duration, 1)
	start := time.Now()
	go unary(context.Background(), func() { admitted <- time.Since(start) })
	select {
	case <-admitted:
		t.Fatal("a second call was let in while the only slot was taken")
	case <-time.After(100 * time.Millisecond):
	}
	close(done1) // the handler returns: its slot is free
	if d := <-admitted; d >= 300*time.Millisecond {
		t.Fatalf("the waiting call got in after %s, not when the slot was freed", d)
	}

	// hold the slot again: a call whose stream ends while it waits gives up without one
	in4, done4 := make(chan struct{}), make(chan struct{})
	go unary(context.Background(), func() { close(in4); <-done4 })
	<-in4
	ctx3, end3 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, end3)
	start = time.Now()
	release := a.acquire(ctx3)
	if d := time.Since(start); d >= 250*time.Millisecond {
		t.Fatalf("a call whose stream ended kept waiting (%s)", d)
	}
	release()

	// with the slot held, a call is let in anyway after maxWait
	start = time.Now()
	var waited time.Duration
	unary(context.Background(), func() { waited = time.Since(start) }) // holds no slot: must not free call 4's
	if waited < 250*time.Millisecond || waited > 2*time.Second {
		t.Fatalf("a call past the bound waited %s, want about maxWait (300ms)", waited)
	}
	if n := len(a.slots); n != 1 {
		t.Fatalf("%d slots taken while one call holds one", n)
	}
	close(done4)
	testkit.Eventually(t, time.Second, "every slot free after every call ended", func() bool { return len(a.slots) == 0 })
}
