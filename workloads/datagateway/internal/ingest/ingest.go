// Package ingest is the gateway's Dapr app side: the topic-event handler decodes each
// pub/sub message as a CloudEvent (pkg/cloudevent), sends poison messages (undecodable,
// oversized) to the dead-letter store, appends the rest durably to the buffer and only
// then reports success to Dapr. A full buffer under the reject policy answers RETRY, so
// the broker keeps the message.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/dapr/go-sdk/service/common"
	daprd "github.com/dapr/go-sdk/service/grpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/metrics"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/sink"
)

// Appender stores a record durably (the buffer).
type Appender interface {
	Append(ctx context.Context, payload []byte) (uint64, error)
}

// DeadLetterer stores poison messages durably.
type DeadLetterer interface {
	Put(ctx context.Context, dead ...sink.Dead) error
}

// Poison is why a message cannot be accepted; it goes to the dead-letter store.
type Poison struct {
	// Reason class: "oversized" or "undecodable".
	Class  string
	Detail string
	// ID is the event id when it could be read.
	ID string
}

func (p *Poison) Error() string { return p.Class + ": " + p.Detail }

// Decode turns one pub/sub payload on topic into a Message, or says why it is poison.
// The partition key is the CloudEvent subject, else the topic after "telemetry/".
func Decode(topic string, raw []byte, maxBytes int, now time.Time) (message.Message, *Poison) {
	if maxBytes > 0 && len(raw) > maxBytes {
		return message.Message{}, &Poison{Class: "oversized", Detail: fmt.Sprintf("message of %d bytes exceeds maxMessageBytes %d", len(raw), maxBytes)}
	}
	ev, err := cloudevent.Decode(raw)
	if err != nil {
		return message.Message{}, &Poison{Class: "undecodable", Detail: err.Error(), ID: ev.ID}
	}
	return message.Message{
		ID:          ev.ID,
		Topic:       topic,
		Key:         message.PartitionKey(ev.Subject, topic),
		Time:        ev.Time,
		ReceivedAt:  now.UTC(),
		TraceParent: ev.TraceParent,
		Event:       raw,
	}, nil
}

// Handler handles topic events.
type Handler struct {
	Buffer     Appender
	DeadLetter DeadLetterer
	// MaxMessageBytes: larger payloads are dead-lettered as oversized (0 = no limit).
	MaxMessageBytes int
	Metrics         *metrics.Metrics
	Logger          *slog.Logger
	Tracer          trace.TracerProvider
	Now             func() time.Time
}

// Handle is the go-sdk topic event handler: (retry=false, nil) acknowledges the message,
// (retry=true, err) makes Dapr redeliver it.
func (h *Handler) Handle(ctx context.Context, e *common.TopicEvent) (retry bool, err error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	raw := e.RawData
	m, poison := Decode(e.Topic, raw, h.MaxMessageBytes, now())
	tp := h.Tracer
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	carrier := propagation.MapCarrier{}
	if poison == nil && m.TraceParent != "" {
		carrier["traceparent"] = m.TraceParent
	}
	ctx = propagation.TraceContext{}.Extract(ctx, carrier)
	ctx, span := tp.Tracer("edgeframe/datagateway/ingest").Start(ctx, "datagateway.ingest", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.destination.name", e.Topic), attribute.String("messaging.message.id", m.ID), attribute.Int("messaging.message.body.size", len(raw))))
	defer span.End()
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if poison != nil {
		span.SetStatus(codes.Error, poison.Error())
		dead := sink.Dead{ID: poison.ID, Topic: e.Topic, Reason: poison.Error(), Stage: "ingest", ReceivedAt: now(), Payload: raw}
		if err := h.DeadLetter.Put(ctx, dead); err != nil {
			h.Metrics.Received.WithLabelValues("error").Inc()
			log.Error("dead-letter store failed; the broker keeps the message", "topic", e.Topic, "err", err)
			return true, fmt.Errorf("dead-letter: %w", err)
		}
		h.Metrics.DeadLettered.WithLabelValues("ingest", poison.Class).Inc()
		h.Metrics.Received.WithLabelValues("deadlettered").Inc()
		log.Warn("poison message dead-lettered", "topic", e.Topic, "id", poison.ID, "reason", poison.Error())
		return false, nil
	}
	if _, err := h.Buffer.Append(ctx, m.Marshal()); err != nil {
		span.SetStatus(codes.Error, err.Error())
		if errors.Is(err, buffer.ErrFull) {
			h.Metrics.Received.WithLabelValues("rejected_full").Inc()
			return true, fmt.Errorf("message %s: %w", m.ID, err)
		}
		h.Metrics.Received.WithLabelValues("error").Inc()
		log.Error("buffer append failed; the broker keeps the message", "id", m.ID, "err", err)
		return true, fmt.Errorf("message %s: %w", m.ID, err)
	}
	h.Metrics.Received.WithLabelValues("accepted").Inc()
	return false, nil
}

// ServiceOptions configures the Dapr gRPC app.
type ServiceOptions struct {
	PubSub string
	Topics []string
	// MaxConcurrent bounds the deliveries in the gateway at once, across every connection
	// daprd opens (its pool adds a connection per 100 calls in flight, so HTTP/2 stream
	// limits alone do not bound them). Further deliveries wait, their request read but
	// not yet handled, which bounds the gateway's memory (default 256).
	MaxConcurrent uint32
}

// NewService returns the go-sdk gRPC service on lis with h subscribed to every topic
// with rawPayload=true, so the handler gets the producer's CloudEvent bytes unchanged.
//
// Wildcard topics (telemetry/#) arrive under the concrete topic, so the first
// subscription disables the SDK's topic validation: it is the handler for every topic
// of the pub/sub; the others are listed so daprd subscribes to them.
func NewService(lis net.Listener, o ServiceOptions, h *Handler) (common.Service, error) {
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = 256
	}
	a := newAdmission(int(o.MaxConcurrent), admissionMaxWait)
	// Fixed HTTP/2 windows (no BDP growth up to 16 MiB) bound what daprd can push ahead;
	// small transport buffers, as daprd may hold many connections.
	s := daprd.NewServiceWithListener(lis, grpc.MaxConcurrentStreams(o.MaxConcurrent),
		grpc.InitialWindowSize(64<<10), grpc.InitialConnWindowSize(1<<20),
		grpc.ReadBufferSize(16<<10), grpc.WriteBufferSize(8<<10),
		grpc.UnaryInterceptor(a.unary))
	for i, t := range o.Topics {
		sub := &common.Subscription{PubsubName: o.PubSub, Topic: t, Metadata: map[string]string{"rawPayload": "true"}, DisableTopicValidation: i == 0}
		if err := s.AddTopicEventHandler(sub, h.Handle); err != nil {
			return nil, fmt.Errorf("subscribe %s/%s: %w", o.PubSub, t, err)
		}
	}
	return s, nil
}

// admissionMaxWait is the longest a delivery waits for a slot before it is let in
// anyway: the bound is soft, it must never stall delivery.
const admissionMaxWait = 2 * time.Second

// admission bounds the calls in progress across every connection. A call waits for a
// slot in the unary interceptor (its request, at most one HTTP/2 stream window, is read
// by then) and gives it back when its handler returns. It must not wait in a tap handle
// (grpc.InTapHandle): that runs in the connection's reader goroutine under the
// transport's lock, so one waiting call stops every stream of the connection — including
// the request bodies of calls that already hold slots — until maxWait: stalls of up to
// 2 s, seen as p99 end-to-end latencies of 0.3–3 s in the topology benchmark.
type admission struct {
	slots   chan struct{}
	maxWait time.Duration
}

func newAdmission(n int, maxWait time.Duration) *admission {
	return &admission{slots: make(chan struct{}, n), maxWait: maxWait}
}

// acquire waits for a slot, at most maxWait or until ctx ends, and returns the function
// that gives it back (a no-op when the call was let in without one).
func (a *admission) acquire(ctx context.Context) (release func()) {
	select {
	case a.slots <- struct{}{}:
	default:
		t := time.NewTimer(a.maxWait)
		defer t.Stop()
		select {
		case a.slots <- struct{}{}:
		case <-ctx.Done():
			return func() {}
		case <-t.C:
			return func() {} // let it in without a slot
		}
	}
	var once sync.Once
	return func() { once.Do(func() { <-a.slots }) }
}

func (a *admission) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	release := a.acquire(ctx)
	defer release()
	return handler(ctx, req)
}

var _ Appender = (*buffer.Buffer)(nil)
