package daprpub_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
)

// recorder is a Publisher that keeps what it published.
type recorder struct {
	mu  sync.Mutex
	got []cloudevent.Event
}

func (r *recorder) Publish(_ context.Context, _, _ string, ev cloudevent.Event) error {
	r.mu.Lock()
	r.got = append(r.got, ev)
	r.mu.Unlock()
	return nil
}

func TestProducerQueuesATracedCloudEvent(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	pub := &recorder{}
	q := daprpub.NewQueue(pub, daprpub.QueueConfig{Capacity: 10})
	p := &daprpub.Producer{Queue: q, Tracer: tp.Tracer("test"), PubSub: "edge-pubsub", Source: "edgeframe/l2/tempsensor",
		Kind: "temperature", SpanPrefix: "tempsensor produce"}
	at := time.Date(2026, 12, 6, 7, 0, 0, 0, time.FixedZone("CET", 3600))
	id, err := p.Produce(daprpub.Message{Topic: "telemetry/tempsensor/s1", Writer: "s1", Sequence: 42, Time: at,
		Data: json.RawMessage(`{"t":21.5}`), Extensions: map[string]any{"batchid": "b"},
		Attributes: []attribute.KeyValue{attribute.Int("edgeframe.batch.items", 3)}})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	if err := q.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(pub.got) != 1 {
		t.Fatalf("published %d events, want 1", len(pub.got))
	}
	ev := pub.got[0]
	if ev.ID != id || ev.ID != cloudevent.NewID("temperature", "s1", 42) || ev.Subject != "s1" || ev.Source != "edgeframe/l2/tempsensor" ||
		ev.Type != cloudevent.TypeFor("temperature") || ev.Sequence != 42 || !ev.Time.Equal(at) || ev.Extensions["batchid"] != "b" || string(ev.Data) != `{"t":21.5}` {
		t.Errorf("event %+v (id %q)", ev, id)
	}
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	s := ended[0]
	if s.Name() != "tempsensor produce telemetry/tempsensor/s1" || s.SpanKind() != trace.SpanKindProducer {
		t.Errorf("span %q kind %v", s.Name(), s.SpanKind())
	}
	want := map[attribute.Key]string{"messaging.destination.name": "telemetry/tempsensor/s1", "messaging.message.id": id,
		"edgeframe.sequence": "42", "edgeframe.batch.items": "3"}
	for _, kv := range s.Attributes() {
		if w, ok := want[kv.Key]; ok && kv.Value.String() == w {
			delete(want, kv.Key)
		}
	}
	if len(want) != 0 {
		t.Errorf("span attributes %v lack %v", s.Attributes(), want)
	}
	if tp := "00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01"; ev.TraceParent != tp {
		t.Errorf("traceparent %q, want the span's %q", ev.TraceParent, tp)
	}
}

func TestProducerWithoutTracerAndAfterClose(t *testing.T) {
	q := daprpub.NewQueue(&recorder{}, daprpub.QueueConfig{Capacity: 10})
	p := &daprpub.Producer{Queue: q, Kind: "opcua", Source: "edgeframe/l2/opcpublisher"}
	if _, err := p.Produce(daprpub.Message{Topic: "t", Writer: "g", Sequence: 1, Time: time.Now(), Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if _, err := p.Produce(daprpub.Message{Topic: "t", Writer: "g", Sequence: 2, Time: time.Now(), Data: json.RawMessage(`{}`)}); !errors.Is(err, daprpub.ErrClosed) {
		t.Errorf("produce after close: %v, want ErrClosed", err)
	}
}
