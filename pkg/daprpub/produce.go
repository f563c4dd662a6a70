package daprpub

import (
	"context"
	"encoding/json"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

// Enqueuer takes events to publish; *Queue is one.
type Enqueuer interface {
	Enqueue(Item) error
}

// Producer is how a producing workload (opcpublisher, tempsensor) turns a sequence number
// and its data into a message: the CloudEvent (id <kind>/<writer>/<sequence>, subject the
// writer), a producer span whose context travels in the event's traceparent, and a place in
// the send queue.
type Producer struct {
	Queue Enqueuer
	// Tracer records one producer span per message; nil records none.
	Tracer trace.Tracer
	// PubSub is the Dapr pub/sub component.
	PubSub string
	// Source is the CloudEvent source, edgeframe/<level>/<app-id> (cloudevent.SourceFor).
	Source string
	// Kind is the telemetry kind: the type io.edgeframe.telemetry.<Kind>.v1 and the id's
	// first segment.
	Kind string
	// SpanPrefix names the spans "<SpanPrefix> <topic>".
	SpanPrefix string
}

// Message is one message to produce.
type Message struct {
	Topic string
	// Writer is the writer group or device: the id's second segment and the subject.
	Writer   string
	Sequence int64
	Time     time.Time
	Data     json.RawMessage
	// Extensions are extra CloudEvent attributes (nil = none).
	Extensions map[string]any
	// Attributes are added to the span.
	Attributes []attribute.KeyValue
}

// Produce queues m as a traced CloudEvent and returns the event's id. The error is the
// queue's (it is closed): the message was not queued.
func (p *Producer) Produce(m Message) (string, error) {
	ev := cloudevent.New(p.Kind, m.Writer, m.Sequence, p.Source, m.Time, m.Data)
	ev.Subject = m.Writer
	ev.Extensions = m.Extensions
	if p.Tracer != nil {
		attrs := append([]attribute.KeyValue{attribute.String("messaging.destination.name", m.Topic),
			attribute.String("messaging.message.id", ev.ID), attribute.Int64("edgeframe.sequence", m.Sequence)}, m.Attributes...)
		ctx, span := p.Tracer.Start(context.Background(), p.SpanPrefix+" "+m.Topic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attrs...))
		defer span.End()
		if span.SpanContext().IsValid() {
			carrier := propagation.MapCarrier{}
			propagation.TraceContext{}.Inject(ctx, carrier)
			ev.TraceParent, ev.TraceState = carrier.Get("traceparent"), carrier.Get("tracestate")
		}
	}
	return ev.ID, p.Queue.Enqueue(Item{PubSub: p.PubSub, Topic: m.Topic, Event: ev})
}
