package daprpub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
)

// batcher records every call; while failBatches > 0 a batch call fails (and counts down).
type batcher struct {
	mu          sync.Mutex
	calls       [][]string // ids per call
	topics      []string
	failBatches atomic.Int64
}

func (b *batcher) Publish(ctx context.Context, pubsub, topic string, ev cloudevent.Event) error {
	return b.PublishBatch(ctx, pubsub, topic, []cloudevent.Event{ev})
}

func (b *batcher) PublishBatch(_ context.Context, _, topic string, evs []cloudevent.Event) error {
	if b.failBatches.Add(-1) >= 0 {
		return errors.New("bulk publish failed")
	}
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	b.mu.Lock()
	b.calls = append(b.calls, ids)
	b.topics = append(b.topics, topic)
	b.mu.Unlock()
	return nil
}

func TestQueueBatchesByTopicUpToMaxBatchAndRetriesWholeBatches(t *testing.T) {
	pub := &batcher{}
	pub.failBatches.Store(2)
	var sent, retried atomic.Int64
	q := daprpub.NewQueue(pub, daprpub.QueueConfig{Capacity: 1000, MaxBatch: 50,
		Backoff: backoff.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond},
		Hooks: daprpub.Hooks{
			Sent:    func(daprpub.Item, time.Duration) { sent.Add(1) },
			Retried: func(daprpub.Item, int, error) { retried.Add(1) },
		}})
	// 70 items for topic a, then 30 for topic b, queued before the sender starts
	for i := int64(1); i <= 100; i++ {
		it := item(i)
		if i > 70 {
			it.Topic = "telemetry/t/b"
		}
		if err := q.Enqueue(it); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	if err := q.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	next := int64(1)
	for i, c := range pub.calls {
		sizes = append(sizes, len(c))
		for _, id := range c {
			if want := cloudevent.NewID("t", "x", next); id != want {
				t.Fatalf("call %d: %s, want %s (order kept across batches)", i, id, want)
			}
			next++
		}
	}
	if fmt.Sprint(sizes) != "[50 20 30]" || pub.topics[1] != "telemetry/t/x" || pub.topics[2] != "telemetry/t/b" {
		t.Errorf("batches %v on %v, want [50 20 30]: at most MaxBatch, never mixing topics", sizes, pub.topics)
	}
	if sent.Load() != 100 || retried.Load() != 2 || q.Len() != 0 {
		t.Errorf("sent %d retried %d left %d", sent.Load(), retried.Load(), q.Len())
	}
}

// A batch goes through a real daprd bulk publish to mosquitto: every event arrives as
// the producer's structured CloudEvent, id and sequence intact.
func TestClientPublishBatchThroughDaprd(t *testing.T) {
	b := profile.StartMosquitto(t, "l2")
	sub := testenv.Subscribe(t, b.URL, "telemetry/#")
	d := testenv.StartDaprd(t, profile.Daprd(t, "l2", "opcpublisher", b.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := &daprpub.Lazy{Addr: d.GRPCAddr}
	defer l.Close()
	var evs []cloudevent.Event
	for i := int64(1); i <= 200; i++ {
		evs = append(evs, cloudevent.New("tempsensor", "b1", i, cloudevent.SourceFor("l2", "tempsensor"), time.Now(), json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))))
	}
	if err := l.PublishBatch(ctx, "edge-pubsub", "telemetry/tempsensor/b1", evs); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for len(seen) < 200 {
		m := testenv.Receive(t, sub, 10*time.Second)
		ev, err := cloudevent.Decode(m.Payload)
		if err != nil {
			t.Fatalf("%s: %v", m.Payload, err)
		}
		var data struct{ N int64 }
		if err := json.Unmarshal(ev.Data, &data); err != nil || data.N != ev.Sequence || ev.ID != cloudevent.NewID("tempsensor", "b1", ev.Sequence) {
			t.Fatalf("event %+v data %s", ev, ev.Data)
		}
		seen[ev.Sequence] = true
	}
	// the queue with calls in flight at once over the real sidecar: every event arrives
	q := daprpub.NewQueue(l, daprpub.QueueConfig{Capacity: 1000, MaxBatch: 20, InFlight: 4})
	for i := int64(1); i <= 300; i++ {
		ev := cloudevent.New("tempsensor", "q1", i, cloudevent.SourceFor("l2", "tempsensor"), time.Now(), json.RawMessage(`{}`))
		if err := q.Enqueue(daprpub.Item{PubSub: "edge-pubsub", Topic: "telemetry/tempsensor/q1", Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	if err := q.Run(ctx); err != nil {
		t.Fatalf("queue: %v", err)
	}
	queued := map[int64]bool{}
	for len(queued) < 300 {
		ev, err := cloudevent.Decode(testenv.Receive(t, sub, 10*time.Second).Payload)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(ev.ID, "tempsensor/q1/") {
			queued[ev.Sequence] = true
		}
	}
	bad := []cloudevent.Event{evs[0], {ID: "no-source"}}
	if err := l.PublishBatch(ctx, "edge-pubsub", "telemetry/x", bad); err == nil {
		t.Error("an invalid event in a batch was accepted")
	}
}
