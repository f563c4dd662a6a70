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
	Hooks    Hooks
	Logger   *slog.Logger
}

// Queue is a bounded, ordered send queue: one sender publishes items in order and
// retries the head with backoff until it succeeds, so a sidecar or broker outage
// delays events instead of losing them, until Capacity is reached. Then the oldest
// item is dropped — never silently.
type Queue struct {
	pub Publisher
	cfg QueueConfig

	mu     sync.Mutex
	items  []Item
	wake   chan struct{}
	closed bool
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
	if len(q.items) >= q.cfg.Capacity {
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

// Len is the number of items waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
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

// headBatch appends to buf the head item and up to max-1 following items for the same
// pubsub and topic.
func (q *Queue) headBatch(buf []Item, max int) ([]Item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	buf = buf[:0]
	for _, it := range q.items {
		if len(buf) == max || (len(buf) > 0 && (it.PubSub != buf[0].PubSub || it.Topic != buf[0].Topic)) {
			break
		}
		buf = append(buf, it)
	}
	return buf, q.closed
}

// pop removes the head if it is still it (a drop may have removed it meanwhile).
func (q *Queue) pop(it Item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 && q.items[0].Event.ID == it.Event.ID && q.items[0].Enqueued.Equal(it.Enqueued) {
		q.items[0] = Item{} // release the event: the backing array outlives the slice head
		q.items = q.items[1:]
	}
}

// Run publishes until ctx is done, or until the queue is closed and empty.
func (q *Queue) Run(ctx context.Context) error {
	bp, batching := q.pub.(BatchPublisher)
	max := q.cfg.MaxBatch
	if !batching || max < 1 {
		max = 1
	}
	var (
		batch  []Item
		events []cloudevent.Event
		closed bool
	)
	attempt := 0
	for {
		batch, closed = q.headBatch(batch, max)
		if len(batch) == 0 {
			if closed {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-q.wake:
				continue
			}
		}
		it := batch[0]
		actx, cancel := context.WithTimeout(ctx, q.cfg.AttemptTimeout)
		var err error
		if len(batch) == 1 {
			err = q.pub.Publish(actx, it.PubSub, it.Topic, it.Event)
		} else {
			events = events[:0]
			for _, b := range batch {
				events = append(events, b.Event)
			}
			err = bp.PublishBatch(actx, it.PubSub, it.Topic, events)
		}
		cancel()
		if err == nil {
			for _, b := range batch {
				q.pop(b)
				if q.cfg.Hooks.Sent != nil {
					q.cfg.Hooks.Sent(b, time.Since(b.Enqueued))
				}
			}
			clear(events) // release the sent events until the next batch
			clear(batch)
			attempt = 0
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		attempt++
		if q.cfg.Hooks.Retried != nil {
			q.cfg.Hooks.Retried(it, attempt, err)
		}
		d := q.cfg.Backoff.Delay(attempt-1, rand.Float64)
		q.cfg.Logger.Warn("publish failed, retrying", "id", it.Event.ID, "topic", it.Topic, "batch", len(batch), "attempt", attempt, "retry_in", d.String(), "err", err)
		if err := backoff.Sleep(ctx, d); err != nil {
			return err
		}
	}
}
