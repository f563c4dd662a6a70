// Package deliver drains the buffer into one sink: it reads batches from the sink's
// cursor, writes them with retries (capped exponential backoff with jitter), guards the
// sink with a circuit breaker, sends what the sink rejects as invalid to the dead-letter
// store, and commits the cursor only after a batch is stored. After an outage it replays
// the backlog at a capped rate on a second lane while fresh messages keep flowing.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/time/rate"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/metrics"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/sink"
)

// DeadLetterer stores poison messages durably.
type DeadLetterer interface {
	Put(ctx context.Context, dead ...sink.Dead) error
}

// Options tunes one drainer.
type Options struct {
	// BatchMessages and BatchBytes bound one Write.
	BatchMessages int
	BatchBytes    int
	// Linger waits this long for a batch to fill when fewer than BatchMessages are ready.
	Linger time.Duration
	// Retry is the backoff between attempts of a failed batch.
	Retry backoff.Policy
	// BreakerFailures consecutive failed writes open the breaker for BreakerCooldown
	// (BreakerFailures 0 disables it).
	BreakerFailures int
	BreakerCooldown time.Duration
	// ReplayMaxRate caps the messages per second of a replay (0 = no controlled replay:
	// the backlog drains in order at full speed).
	ReplayMaxRate float64
	// ReplayThreshold is the backlog (messages) above which a drain start or a recovery
	// from failures turns into a controlled replay.
	ReplayThreshold uint64
}

// Drainer delivers the buffer to one sink.
type Drainer struct {
	buf  *buffer.Buffer
	sink sink.Sink
	dl   DeadLetterer
	o    Options
	m    *metrics.Metrics
	log  *slog.Logger
	tr   trace.Tracer
	br   *breaker
	name string

	mu       sync.Mutex
	replayOn bool
	replayAt buffer.Position // replay lane progress (commit point while replaying)
	liveAt   buffer.Position // live lane progress
}

// New returns a drainer of s over buf. tp may be nil (no tracing).
func New(buf *buffer.Buffer, s sink.Sink, dl DeadLetterer, o Options, m *metrics.Metrics, log *slog.Logger, tp trace.TracerProvider) *Drainer {
	if o.BatchMessages <= 0 {
		o.BatchMessages = 500
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 1 << 20
	}
	if o.Retry.Initial <= 0 {
		o.Retry = backoff.Policy{Initial: 200 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2}
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 30 * time.Second
	}
	if o.ReplayThreshold == 0 {
		o.ReplayThreshold = uint64(2 * o.BatchMessages)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	name := s.Name()
	d := &Drainer{buf: buf, sink: s, dl: dl, o: o, m: m, log: log.With("sink", name), tr: tp.Tracer("edgeframe/datagateway/deliver"), name: name}
	d.br = &breaker{failures: o.BreakerFailures, cooldown: o.BreakerCooldown, now: time.Now, onChange: func(open bool) {
		if open {
			d.log.Warn("circuit breaker open: pausing deliveries", "cooldown", o.BreakerCooldown.String())
			m.BreakerOpen.WithLabelValues(name).Set(1)
		} else {
			d.log.Info("circuit breaker closed: deliveries resume")
			m.BreakerOpen.WithLabelValues(name).Set(0)
		}
	}}
	m.BreakerOpen.WithLabelValues(name).Set(0)
	m.ReplayActive.WithLabelValues(name).Set(0)
	return d
}

// Run drains until ctx ends. The cursor is committed after every stored batch.
func (d *Drainer) Run(ctx context.Context) error {
	start, err := d.buf.Cursor(d.name)
	if err != nil {
		return err
	}
	d.liveAt = start
	r := d.buf.NewReader(d.name, start)
	defer r.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	check := true
	for {
		if check {
			check = false
			if to := d.buf.End(); d.o.ReplayMaxRate > 0 && to-r.Position().Offset > d.o.ReplayThreshold && d.startReplay(r.Position(), to) {
				from := r.Position()
				r.Close()
				r = d.buf.NewReader(d.name, buffer.At(to))
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.replay(ctx, from, to)
				}()
			}
		}
		batch, err := d.read(ctx, r, 0)
		if err != nil {
			return err
		}
		failed, err := d.deliver(ctx, batch, false)
		if err != nil {
			return err
		}
		d.advance(false, batch[len(batch)-1].Next)
		r.Recycle()
		check = failed
	}
}

func (d *Drainer) startReplay(from buffer.Position, to uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.replayOn {
		return false
	}
	d.replayOn, d.replayAt = true, from
	d.m.ReplayActive.WithLabelValues(d.name).Set(1)
	d.log.Info("controlled replay of the backlog", "from", from.Offset, "to", to, "messages", to-from.Offset, "max_rate", d.o.ReplayMaxRate)
	return true
}

// replay delivers [from, to) at no more than ReplayMaxRate messages per second.
func (d *Drainer) replay(ctx context.Context, from buffer.Position, to uint64) {
	burst := max(1, min(d.o.BatchMessages, int(d.o.ReplayMaxRate)))
	lim := rate.NewLimiter(rate.Limit(d.o.ReplayMaxRate), burst)
	r := d.buf.NewReader(d.name, from)
	defer r.Close()
	for {
		batch, err := d.read(ctx, r, to, burst)
		if errors.Is(err, buffer.ErrLimit) {
			d.mu.Lock()
			d.replayOn = false
			live := d.liveAt
			d.mu.Unlock()
			d.m.ReplayActive.WithLabelValues(d.name).Set(0)
			d.log.Info("controlled replay done", "to", to)
			d.commit(live)
			return
		}
		if err != nil {
			return
		}
		if err := lim.WaitN(ctx, len(batch)); err != nil {
			return
		}
		if _, err := d.deliver(ctx, batch, true); err != nil {
			return
		}
		d.m.Replayed.WithLabelValues(d.name).Add(float64(len(batch)))
		d.advance(true, batch[len(batch)-1].Next)
		r.Recycle()
	}
}

// advance records a lane's progress and commits the cursor: while a replay runs, the
// cursor is the replay lane's (nothing older may be forgotten); afterwards the live lane's.
func (d *Drainer) advance(replay bool, p buffer.Position) {
	d.mu.Lock()
	if replay {
		d.replayAt = p
	} else {
		d.liveAt = p
	}
	c := d.liveAt
	if d.replayOn {
		c = d.replayAt
	}
	d.mu.Unlock()
	d.commit(c)
}

func (d *Drainer) commit(p buffer.Position) {
	if err := d.buf.Commit(d.name, p); err != nil {
		d.log.Error("commit cursor", "err", err)
	}
}

// read returns the next batch (limit 0 = none), waiting up to Linger for it to fill.
func (d *Drainer) read(ctx context.Context, r *buffer.Reader, limit uint64, maxN ...int) ([]buffer.Record, error) {
	n := d.o.BatchMessages
	if len(maxN) > 0 {
		n = maxN[0]
	}
	recs, err := r.Next(ctx, n, d.o.BatchBytes, limit)
	if err != nil {
		return nil, err
	}
	if d.o.Linger > 0 && len(recs) < n {
		lctx, cancel := context.WithTimeout(ctx, d.o.Linger)
		for len(recs) < n {
			more, err := r.Next(lctx, n-len(recs), d.o.BatchBytes, limit)
			if err != nil {
				break
			}
			recs = append(recs, more...)
		}
		cancel()
	}
	return recs, nil
}

// deliver writes the batch until every message is stored or dead-lettered. It reports
// whether any attempt failed. It returns an error only when ctx ends.
func (d *Drainer) deliver(ctx context.Context, recs []buffer.Record, replay bool) (failed bool, _ error) {
	msgs := make([]message.Message, 0, len(recs))
	for _, rec := range recs {
		m, err := message.Unmarshal(rec.Payload)
		if err != nil {
			d.deadLetter(ctx, []sink.Dead{{Reason: "undecodable buffer record: " + err.Error(), Stage: "sink:" + d.name, ReceivedAt: rec.Time, Payload: rec.Payload}}, "corrupt")
			continue
		}
		m.Offset = rec.Offset
		msgs = append(msgs, m)
	}
	ctx, span := d.tr.Start(ctx, "datagateway.deliver", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithLinks(links(msgs)...),
		trace.WithAttributes(attribute.String("edgeframe.sink", d.name), attribute.Int("messaging.batch.message_count", len(msgs)), attribute.Bool("edgeframe.replay", replay)))
	defer span.End()
	attempt := 0
	for len(msgs) > 0 {
		if err := d.br.wait(ctx); err != nil {
			return failed, err
		}
		if msgs = d.withoutDropped(msgs); len(msgs) == 0 {
			return failed, nil
		}
		err := d.sink.Write(ctx, msgs)
		if err == nil {
			d.br.success()
			d.m.Delivered.WithLabelValues(d.name).Add(float64(len(msgs)))
			return failed, nil
		}
		if ctx.Err() != nil {
			return failed, ctx.Err()
		}
		var be *sink.BatchError
		if errors.As(err, &be) {
			var dead []sink.Dead
			var retry []message.Message
			for i, m := range msgs {
				if rerr, ok := be.Rejected[i]; ok {
					dead = append(dead, sink.Dead{ID: m.ID, Topic: m.Topic, Reason: "rejected by sink: " + rerr.Error(), Stage: "sink:" + d.name, ReceivedAt: m.ReceivedAt, Payload: m.Event})
				} else if _, ok := be.Failed[i]; ok {
					retry = append(retry, m)
				}
			}
			d.m.Delivered.WithLabelValues(d.name).Add(float64(len(msgs) - len(dead) - len(retry)))
			if len(dead) > 0 {
				d.log.Warn("sink rejected messages as invalid: dead-lettered", "messages", len(dead), "err", err)
				d.deadLetter(ctx, dead, "rejected")
			}
			msgs = retry
			if len(retry) == 0 {
				d.br.success()
				return failed, nil
			}
		}
		failed = true
		d.br.failure()
		d.m.Retries.WithLabelValues(d.name).Add(float64(len(msgs)))
		delay := d.o.Retry.Delay(attempt, rand.Float64)
		attempt++
		if d.br.isOpen() {
			delay = 0 // the breaker's cooldown is the wait
		}
		d.log.Warn("delivery failed, retrying", "messages", len(msgs), "attempt", attempt, "retry_in", delay.String(), "err", err)
		if err := backoff.Sleep(ctx, delay); err != nil {
			return failed, err
		}
	}
	return failed, nil
}

// withoutDropped removes the messages the buffer dropped (drop-oldest policy or age)
// while this batch waited for the sink: they are already counted as lost, so delivering
// them would make the drop count lie. The batch is in offset order.
func (d *Drainer) withoutDropped(msgs []message.Message) []message.Message {
	oldest := d.buf.Oldest()
	i := 0
	for i < len(msgs) && msgs[i].Offset < oldest {
		i++
	}
	if i > 0 {
		d.log.Warn("messages dropped by the buffer while waiting for the sink: not delivered", "messages", i)
	}
	return msgs[i:]
}

// deadLetter stores dead letters, retrying until it succeeds: a message leaves the
// buffer only once it is stored somewhere.
func (d *Drainer) deadLetter(ctx context.Context, dead []sink.Dead, reason string) {
	for attempt := 0; ; attempt++ {
		err := d.dl.Put(ctx, dead...)
		if err == nil {
			d.m.DeadLettered.WithLabelValues("sink:"+d.name, reason).Add(float64(len(dead)))
			return
		}
		d.log.Error("dead-letter store failed, retrying", "err", err)
		if backoff.Sleep(ctx, d.o.Retry.Delay(attempt, rand.Float64)) != nil {
			return
		}
	}
}

const maxLinks = 128

func links(msgs []message.Message) []trace.Link {
	var out []trace.Link
	prop := propagation.TraceContext{}
	for _, m := range msgs {
		if m.TraceParent == "" {
			continue
		}
		sc := trace.SpanContextFromContext(prop.Extract(context.Background(), propagation.MapCarrier{"traceparent": m.TraceParent}))
		if sc.IsValid() {
			out = append(out, trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("messaging.message.id", m.ID)}})
		}
		if len(out) == maxLinks {
			break
		}
	}
	return out
}

// String names the drainer in logs.
func (d *Drainer) String() string { return fmt.Sprintf("drainer(%s)", d.name) }
