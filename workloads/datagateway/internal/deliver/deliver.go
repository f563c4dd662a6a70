// Package deliver drains the buffer into one sink: it reads batches from the sink's
// cursor, writes them with retries (capped exponential backoff with jitter), guards the
// sink with a circuit breaker, sends what the sink rejects as invalid to the dead-letter
// store, and commits the cursor only after a batch is stored. After an outage it replays
// the backlog at a capped rate on a second lane while fresh messages keep flowing.
//
// A sink whose writes are durable only after Sync (sink.Syncer: the file sink) is synced
// once per syncEvery for every batch written in it, by either lane, and the cursor
// follows the syncs. A failed sync sends each lane back to read again from what the last
// good one made durable: messages may then be stored twice, never lost.
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

	syncer sink.Syncer // nil: Write is durable when it returns
	syncMu sync.Mutex  // one Sync at a time

	mu       sync.Mutex
	replayOn bool
	backlog  lane // the replay lane (its synced position is the commit point while replaying)
	live     lane
	lastSync time.Time
	failures int // failed syncs so far
}

// syncEvery bounds how long a Syncer sink's writes wait for their fsync, and so how far
// the cursor lags what was written (the buffer saves cursors every 100 ms as well).
const syncEvery = 100 * time.Millisecond

// lane is one reader's progress.
type lane struct {
	synced  buffer.Position // everything before it is durably stored
	written buffer.Position // everything before it is written (synced when nothing waits)
	rewind  bool            // a sync failed: read again from synced
}

// unsynced reports whether the lane wrote something a sync has not yet made durable.
func (l *lane) unsynced() bool { return l.written.Offset > l.synced.Offset }

// sendBack makes the lane read again from its last durable position.
func (l *lane) sendBack() { l.rewind, l.written = true, l.synced }

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
	d.syncer, _ = s.(sink.Syncer)
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

// Run drains until ctx ends. The cursor is committed after every stored batch (for a
// Syncer, after the sync that made it durable).
func (d *Drainer) Run(ctx context.Context) error {
	start, err := d.buf.Cursor(d.name)
	if err != nil {
		return err
	}
	d.live = lane{synced: start, written: start}
	d.lastSync = time.Now()
	r := d.buf.NewReader(d.name, start)
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		d.sync() // what was written reaches the disk before the buffer saves the cursor
		r.Close()
	}()
	check := true
	for {
		if p, ok := d.takeRewind(false); ok {
			r.Close()
			r = d.buf.NewReader(d.name, p)
		}
		if check {
			// the replay starts where the live lane's durable progress ends
			if d.sync(); d.rewinding(false) {
				continue
			}
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
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if d.unsynced() {
			rctx, cancel = context.WithTimeout(ctx, syncEvery) // idle: sync what waits
		}
		batch, err := d.read(rctx, r, 0)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				d.sync()
				continue
			}
			return err
		}
		epoch := d.syncEpoch()
		failed, err := d.deliver(ctx, batch, false)
		if err != nil {
			return err
		}
		d.stored(false, batch[len(batch)-1].Next, epoch)
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
	d.replayOn, d.backlog = true, lane{synced: from, written: from}
	d.m.ReplayActive.WithLabelValues(d.name).Set(1)
	d.log.Info("controlled replay of the backlog", "from", from.Offset, "to", to, "messages", to-from.Offset, "max_rate", d.o.ReplayMaxRate)
	return true
}

// replay delivers [from, to) at no more than ReplayMaxRate messages per second.
func (d *Drainer) replay(ctx context.Context, from buffer.Position, to uint64) {
	burst := max(1, min(d.o.BatchMessages, int(d.o.ReplayMaxRate)))
	lim := rate.NewLimiter(rate.Limit(d.o.ReplayMaxRate), burst)
	r := d.buf.NewReader(d.name, from)
	defer func() { r.Close() }()
	for {
		if p, ok := d.takeRewind(true); ok {
			r.Close()
			r = d.buf.NewReader(d.name, p)
		}
		batch, err := d.read(ctx, r, to, burst)
		if errors.Is(err, buffer.ErrLimit) {
			if d.sync(); d.rewinding(true) {
				continue
			}
			d.mu.Lock()
			d.replayOn = false
			live := d.live.synced
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
		epoch := d.syncEpoch()
		if _, err := d.deliver(ctx, batch, true); err != nil {
			return
		}
		d.m.Replayed.WithLabelValues(d.name).Add(float64(len(batch)))
		d.stored(true, batch[len(batch)-1].Next, epoch)
		r.Recycle()
	}
}

func (d *Drainer) lane(replay bool) *lane {
	if replay {
		return &d.backlog
	}
	return &d.live
}

// syncEpoch is taken before a lane writes a batch: a sync that fails while the batch is
// being written may have lost it (stored then sends the lane back).
func (d *Drainer) syncEpoch() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failures
}

// stored records that a lane wrote everything before p, in a batch whose write began at
// sync epoch. A sink that is durable on return commits at once; a Syncer's writes wait
// for the next sync (at most syncEvery).
func (d *Drainer) stored(replay bool, p buffer.Position, epoch int) {
	d.mu.Lock()
	l := d.lane(replay)
	if epoch != d.failures {
		l.sendBack() // a sync failed during the write
	}
	if l.rewind {
		d.mu.Unlock() // read again from l.synced
		return
	}
	l.written = p
	if d.syncer != nil {
		due := time.Since(d.lastSync) >= syncEvery
		d.mu.Unlock()
		if due {
			d.sync()
		}
		return
	}
	l.synced = p
	c := d.commitPointLocked()
	d.mu.Unlock()
	d.commit(c)
}

// sync makes what both lanes wrote durable and commits it; when the sink's Sync fails,
// each lane with unsynced writes goes back to its last durable position.
func (d *Drainer) sync() {
	if d.syncer == nil {
		return
	}
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	lanes := [...]*lane{&d.live, &d.backlog}
	var written [len(lanes)]buffer.Position // what this sync covers
	d.mu.Lock()
	for i, l := range lanes {
		written[i] = l.written
	}
	d.lastSync = time.Now()
	d.mu.Unlock()
	err := d.syncer.Sync()
	d.mu.Lock()
	if err != nil {
		d.failures++
		var redo uint64
		for _, l := range lanes {
			if l.unsynced() {
				redo += l.written.Offset - l.synced.Offset
				l.sendBack()
			}
		}
		d.mu.Unlock()
		d.m.Retries.WithLabelValues(d.name).Add(float64(redo))
		d.log.Error("sink sync failed: writing again what it had not made durable", "messages", redo, "err", err)
		return
	}
	for i, l := range lanes {
		if !l.rewind && written[i].Offset > l.synced.Offset {
			l.synced = written[i]
		}
	}
	c := d.commitPointLocked()
	d.mu.Unlock()
	d.commit(c)
}

// commitPointLocked is the cursor: while a replay runs, the replay lane's durable
// progress (nothing older may be forgotten); otherwise the live lane's.
func (d *Drainer) commitPointLocked() buffer.Position {
	if d.replayOn {
		return d.backlog.synced
	}
	return d.live.synced
}

// takeRewind reports where a lane must read again from after a failed sync.
func (d *Drainer) takeRewind(replay bool) (buffer.Position, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.lane(replay)
	if !l.rewind {
		return buffer.Position{}, false
	}
	l.rewind, l.written = false, l.synced
	return l.synced, true
}

func (d *Drainer) rewinding(replay bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lane(replay).rewind
}

// unsynced reports whether a lane wrote something a sync has not yet made durable.
func (d *Drainer) unsynced() bool {
	if d.syncer == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live.unsynced() || d.backlog.unsynced()
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
