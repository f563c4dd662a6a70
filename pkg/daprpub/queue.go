package daprpub

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

// Item is one event waiting to be published.
type Item struct {
	PubSub string
	Topic  string
	Event  cloudevent.Event
	// Enqueued is when the item entered the queue.
	Enqueued time.Time
}

// Hooks let the caller count what the queue does (metrics); every field is optional.
type Hooks struct {
	Sent    func(it Item, latency time.Duration)
	Retried func(it Item, attempt int, err error)
	Dropped func(it Item, reason string)
}

// QueueConfig configures a Queue.
type QueueConfig struct {
	// Capacity is the most items held; when full the oldest is dropped (counted, logged).
	Capacity int
	// Backoff between attempts to publish the head item (default backoff.Default capped at 10 s).
	Backoff backoff.Policy
	// AttemptTimeout bounds one publish call (default 10 s).
	AttemptTimeout time.Duration
	// MaxBatch, when > 1 and the publisher is a BatchPublisher, sends up to MaxBatch
	// consecutive items for the same pubsub and topic in one call (Dapr bulk publish).
	// daprd publishes a batch's entries concurrently, so the broker may see them out of
	// order; a failed batch is retried whole. 0 or 1: one item per call, in order.
	MaxBatch int
	// InFlight is how many publish calls may be in progress at once (default 1). With 1
	// the queue publishes strictly in order; with more, a call does not wait for the
	// previous one's broker acknowledgement, which takes the sidecar's round trip out of
	// every queued event's latency, but events may reach the broker out of order (and a
	// failed call's events are retried after later ones). Consumers order by sequence.
	InFlight int
	Hooks    Hooks
	Logger   *slog.Logger
}

// Queue is a bounded send queue: a sender publishes items in order (up to InFlight
// calls at once) and retries a failed call's items with backoff until they succeed, so
// a sidecar or broker outage delays events instead of losing them, until Capacity is
// reached. Then the oldest waiting item is dropped — never silently.
type Queue struct {
	pub Publisher
	cfg QueueConfig

	mu       sync.Mutex
	items    []Item // waiting, oldest first
	inflight int    // items in calls in progress (they count against Capacity)
	wake     chan struct{}
	closed   bool
}

// NewQueue returns a queue that publishes through pub.
func NewQueue(pub Publisher, cfg QueueConfig) *Queue {
	if cfg.Capacity <= 0 {
		cfg.Capacity = 4096
	}
	if cfg.Backoff.Initial == 0 {
		cfg.Backoff = backoff.Policy{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2}
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.InFlight < 1 {
		cfg.InFlight = 1
	}
	return &Queue{pub: pub, cfg: cfg, wake: make(chan struct{}, 1)}
}

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("daprpub: queue closed")

// Enqueue adds an item. When the queue is full the oldest item is dropped to make
// room, and the drop is reported through Hooks.Dropped and the log.
func (q *Queue) Enqueue(it Item) error {
	if it.Enqueued.IsZero() {
		it.Enqueued = time.Now()
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	var dropped *Item
	if len(q.items) > 0 && len(q.items)+q.inflight >= q.cfg.Capacity {
		d := q.items[0]
		dropped = &d
		q.items[0] = Item{} // release the event: the backing array outlives the slice head
		q.items = q.items[1:]
	}
	q.items = append(q.items, it)
	q.mu.Unlock()
	if dropped != nil {
		q.cfg.Logger.Warn("send queue full: dropped the oldest event", "id", dropped.Event.ID, "topic", dropped.Topic, "capacity", q.cfg.Capacity)
		if q.cfg.Hooks.Dropped != nil {
			q.cfg.Hooks.Dropped(*dropped, "queue full")
		}
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Len is the number of items waiting or being published.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) + q.inflight
}

// Close stops accepting items; Run drains what is queued until its context ends.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take removes and returns the head item and up to max-1 following items for the same
// pubsub and topic, counting them in flight.
func (q *Queue) take(max int) []Item {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for n < len(q.items) && n < max && (n == 0 || q.items[n].PubSub == q.items[0].PubSub && q.items[n].Topic == q.items[0].Topic) {
		n++
	}
	if n == 0 {
		return nil
	}
	batch := append([]Item(nil), q.items[:n]...)
	clear(q.items[:n]) // release the events: the backing array outlives the slice head
	q.items = q.items[n:]
	q.inflight += n
	return batch
}

// settle ends a call: its items leave the queue (sent) or go back to wait, merged in
// enqueue order with the others (failed).
func (q *Queue) settle(batch []Item, failed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inflight -= len(batch)
	if !failed {
		return
	}
	merged := make([]Item, 0, len(batch)+len(q.items))
	i, j := 0, 0
	for i < len(batch) || j < len(q.items) {
		if j == len(q.items) || i < len(batch) && !q.items[j].Enqueued.Before(batch[i].Enqueued) {
			merged = append(merged, batch[i])
			i++
		} else {
			merged = append(merged, q.items[j])
			j++
		}
	}
	q.items = merged
}

// drained reports whether the queue is closed with nothing waiting or in flight.
func (q *Queue) drained() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed && len(q.items) == 0 && q.inflight == 0
}

// call is one publish call's outcome.
type call struct {
	batch []Item
	err   error
}

// publish sends one batch.
func (q *Queue) publish(ctx context.Context, batch []Item) error {
	actx, cancel := context.WithTimeout(ctx, q.cfg.AttemptTimeout)
	defer cancel()
	it := batch[0]
	if len(batch) == 1 {
		return q.pub.Publish(actx, it.PubSub, it.Topic, it.Event)
	}
	events := make([]cloudevent.Event, len(batch))
	for i, b := range batch {
		events[i] = b.Event
	}
	return q.pub.(BatchPublisher).PublishBatch(actx, it.PubSub, it.Topic, events)
}

// Run publishes until ctx is done, or until the queue is closed and empty. After a
// failed call it starts no new call until the backoff delay has passed; calls already
// in progress finish.
func (q *Queue) Run(ctx context.Context) error {
	_, batching := q.pub.(BatchPublisher)
	max := q.cfg.MaxBatch
	if !batching || max < 1 {
		max = 1
	}
	done := make(chan call, q.cfg.InFlight) // buffered: a call never blocks on a Run that returned
	running, attempt := 0, 0
	var pause *time.Timer // set while backing off
	defer func() {
		if pause != nil {
			pause.Stop()
		}
	}()
	for {
		for pause == nil && running < q.cfg.InFlight {
			batch := q.take(max)
			if batch == nil {
				break
			}
			running++
			go func() { done <- call{batch, q.publish(ctx, batch)} }()
		}
		if running == 0 && q.drained() {
			return nil
		}
		var resume <-chan time.Time
		if pause != nil {
			resume = pause.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-q.wake:
		case <-resume:
			pause = nil
		case c := <-done:
			running--
			if c.err == nil {
				q.settle(c.batch, false)
				if q.cfg.Hooks.Sent != nil {
					for _, b := range c.batch {
						q.cfg.Hooks.Sent(b, time.Since(b.Enqueued))
					}
				}
				attempt = 0
				continue
			}
			q.settle(c.batch, true)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			attempt++
			it := c.batch[0]
			if q.cfg.Hooks.Retried != nil {
				q.cfg.Hooks.Retried(it, attempt, c.err)
			}
			d := q.cfg.Backoff.Delay(attempt-1, rand.Float64)
			q.cfg.Logger.Warn("publish failed, retrying", "id", it.Event.ID, "topic", it.Topic, "batch", len(c.batch), "attempt", attempt, "retry_in", d.String(), "err", c.err)
			if pause == nil {
				pause = time.NewTimer(d)
			} else {
				pause.Reset(d)
			}
		}
	}
}

// ShutdownGrace is how long the producers let queued messages still go out when they stop.
const ShutdownGrace = 5 * time.Second

// Running is a queue publishing in the background, independent of the app's context,
// so that what is queued when the app stops can still go out (see Stop).
type Running struct {
	q      *Queue
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs q in the background until Stop.
func (q *Queue) Start() *Running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{q: q, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = q.Run(ctx)
	}()
	return r
}

// Drained is closed once the queue stops publishing: after Close, when everything in it
// is published, or when Stop gives up after its grace.
func (r *Running) Drained() <-chan struct{} { return r.done }

// Stop closes the queue and lets what is queued be published for up to grace, then
// stops. It returns how many items were left unpublished (and logs them).
func (r *Running) Stop(grace time.Duration) (unsent int) {
	r.q.Close()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-r.done:
		return 0
	case <-t.C:
	}
	r.cancel()
	<-r.done
	unsent = r.q.Len()
	r.q.cfg.Logger.Warn("shutdown: messages still queued were not published", "queued", unsent, "grace", grace.String())
	return unsent
}
