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
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

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
// topic is the message's topic or, for a bulk delivery, the subscription's filter: Dapr
// does not pass a bulk entry's topic, so a filter (telemetry/#) is replaced with the
// topic Dapr recorded in the event when it was published (its "topic" attribute) when
// that matches the filter. The partition key is the CloudEvent subject, else the topic
// after "telemetry/".
func Decode(topic string, raw []byte, maxBytes int, now time.Time) (message.Message, *Poison) {
	if maxBytes > 0 && len(raw) > maxBytes {
		return message.Message{}, &Poison{Class: "oversized", Detail: fmt.Sprintf("message of %d bytes exceeds maxMessageBytes %d", len(raw), maxBytes)}
	}
	ev, err := cloudevent.Decode(raw)
	if err != nil {
		return message.Message{}, &Poison{Class: "undecodable", Detail: err.Error(), ID: ev.ID}
	}
	if isFilter(topic) {
		if t, ok := ev.Extensions["topic"].(string); ok && t != "" && !isFilter(t) && matches(topic, t) {
			topic = t
		}
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

// isFilter reports whether topic has MQTT wildcards.
func isFilter(topic string) bool { return strings.ContainsAny(topic, "+#") }

// matches reports whether the MQTT topic filter matches topic.
func matches(filter, topic string) bool {
	fs, ts := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fs {
		if f == "#" {
			return true
		}
		if i >= len(ts) || f != "+" && f != ts[i] {
			return false
		}
	}
	return len(fs) == len(ts)
}

// Handler turns pub/sub messages into durable buffer records.
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

// Result is what Dapr is told about one message: acknowledge it (Retry false, Err nil),
// or redeliver it (Retry true, Err says why).
type Result struct {
	Retry bool
	Err   error
}

// Handle takes one message: (retry=false, nil) acknowledges it, (retry=true, err)
// makes Dapr redeliver it.
func (h *Handler) Handle(ctx context.Context, topic string, raw []byte) (retry bool, err error) {
	r := h.HandleBatch(ctx, topic, [][]byte{raw})[0]
	return r.Retry, r.Err
}

// HandleBatch takes the messages of one delivery: poison goes to the dead-letter store
// in one write, the rest to the buffer in one append (one commit), and only then is
// each message acknowledged — or, when its write failed, redelivered.
func (h *Handler) HandleBatch(ctx context.Context, topic string, raws [][]byte) []Result {
	start := time.Now()
	defer func() { h.Metrics.Delivery.Observe(time.Since(start).Seconds()) }()
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	tp := h.Tracer
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tracer := tp.Tracer("edgeframe/datagateway/ingest")
	res := make([]Result, len(raws))
	spans := make([]trace.Span, len(raws))
	var (
		records  [][]byte
		recIdx   []int
		dead     []sink.Dead
		deadIdx  []int
		poisons  []*Poison
		received = now()
	)
	for i, raw := range raws {
		m, poison := Decode(topic, raw, h.MaxMessageBytes, received)
		carrier := propagation.MapCarrier{}
		if poison == nil && m.TraceParent != "" {
			carrier["traceparent"] = m.TraceParent
		}
		sctx := propagation.TraceContext{}.Extract(ctx, carrier)
		t := m.Topic
		if poison != nil {
			t = topic
		}
		_, spans[i] = tracer.Start(sctx, "datagateway.ingest", trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("messaging.destination.name", t), attribute.String("messaging.message.id", m.ID), attribute.Int("messaging.message.body.size", len(raw))))
		if poison != nil {
			spans[i].SetStatus(codes.Error, poison.Error())
			dead = append(dead, sink.Dead{ID: poison.ID, Topic: topic, Reason: poison.Error(), Stage: "ingest", ReceivedAt: received, Payload: raw})
			deadIdx = append(deadIdx, i)
			poisons = append(poisons, poison)
			continue
		}
		records = append(records, m.Marshal())
		recIdx = append(recIdx, i)
	}
	if len(dead) > 0 {
		if err := h.DeadLetter.Put(ctx, dead...); err != nil {
			h.Metrics.Received.WithLabelValues("error").Add(float64(len(dead)))
			log.Error("dead-letter store failed; the broker keeps the messages", "topic", topic, "messages", len(dead), "err", err)
			for _, i := range deadIdx {
				res[i] = Result{Retry: true, Err: fmt.Errorf("dead-letter: %w", err)}
			}
		} else {
			for k, p := range poisons {
				h.Metrics.DeadLettered.WithLabelValues("ingest", p.Class).Inc()
				log.Warn("poison message dead-lettered", "topic", dead[k].Topic, "id", p.ID, "reason", p.Error())
			}
			h.Metrics.Received.WithLabelValues("deadlettered").Add(float64(len(dead)))
		}
	}
	if len(records) > 0 {
		_, errs := h.append(ctx, records)
		var accepted, full, failed int
		for k, err := range errs {
			i := recIdx[k]
			if err == nil {
				accepted++
				continue
			}
			spans[i].SetStatus(codes.Error, err.Error())
			res[i] = Result{Retry: true, Err: fmt.Errorf("message %d of %d: %w", i+1, len(raws), err)}
			if errors.Is(err, buffer.ErrFull) {
				full++
				continue
			}
			failed++
			if failed == 1 {
				log.Error("buffer append failed; the broker keeps the message", "topic", topic, "err", err)
			}
		}
		h.Metrics.Received.WithLabelValues("accepted").Add(float64(accepted))
		if full > 0 {
			h.Metrics.Received.WithLabelValues("rejected_full").Add(float64(full))
		}
		if failed > 0 {
			h.Metrics.Received.WithLabelValues("error").Add(float64(failed))
		}
	}
	for _, sp := range spans {
		sp.End()
	}
	return res
}

// append stores records with one AppendBatch when the buffer has it.
func (h *Handler) append(ctx context.Context, records [][]byte) ([]uint64, []error) {
	if b, ok := h.Buffer.(BatchAppender); ok {
		return b.AppendBatch(ctx, records)
	}
	offs, errs := make([]uint64, len(records)), make([]error, len(records))
	for i, r := range records {
		offs[i], errs[i] = h.Buffer.Append(ctx, r)
	}
	return offs, errs
}

// BatchAppender stores several records with one commit (the buffer).
type BatchAppender interface {
	AppendBatch(ctx context.Context, payloads [][]byte) ([]uint64, []error)
}

var _ BatchAppender = (*buffer.Buffer)(nil)

var _ Appender = (*buffer.Buffer)(nil)
