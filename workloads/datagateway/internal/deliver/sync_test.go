package deliver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/sink"
)

// pageCache is a sink.Syncer that behaves like a file in the page cache: Write keeps
// the messages pending, Sync makes them durable, and a Sync told to fail loses every
// pending message (as Linux may drop the pages of a failed fsync).
type pageCache struct {
	mu         sync.Mutex
	pending    []message.Message
	durable    map[string]int // id → times stored durably
	maxOffset  uint64         // highest offset made durable + 1
	writes     int
	syncs      int
	failSyncAt map[int]bool // the syncs (1-based) that fail
}

func newPageCache() *pageCache {
	return &pageCache{durable: map[string]int{}, failSyncAt: map[int]bool{}}
}

func (p *pageCache) Name() string { return "cache" }
func (p *pageCache) Close() error { return nil }

func (p *pageCache) Write(_ context.Context, msgs []message.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writes++
	p.pending = append(p.pending, msgs...)
	return nil
}

func (p *pageCache) Sync() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.syncs++
	if p.failSyncAt[p.syncs] {
		p.pending = nil
		return errors.New("fsync: input/output error")
	}
	for _, m := range p.pending {
		p.durable[m.ID]++
		p.maxOffset = max(p.maxOffset, m.Offset+1)
	}
	p.pending = nil
	return nil
}

func (p *pageCache) state() (durable int, upTo uint64, writes, syncs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.durable), p.maxOffset, p.writes, p.syncs
}

var _ sink.Syncer = (*pageCache)(nil)

// A trickle of small batches is synced about once per syncEvery, not once per batch,
// and the cursor never passes what a sync made durable; when the input stops, the last
// writes are synced and committed without waiting for more.
func TestSyncerSinkIsSyncedOncePerIntervalAndTheCursorFollowsTheSyncs(t *testing.T) {
	e := newEnv(t, "cache")
	pc := newPageCache()
	e.run(t, pc, Options{BatchMessages: 100})
	stop := make(chan struct{})
	violations := make(chan string, 1)
	go func() { // the cursor is read before what is durable, and must never be ahead
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, _ := e.buf.Cursor("cache")
			if _, upTo, _, _ := pc.state(); c.Offset > upTo {
				select {
				case violations <- "cursor passed what was synced":
				default:
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	start := time.Now()
	const n = 300
	for i := 0; i < n; i++ {
		e.appendMessages(t, i, 1, 10)
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	testkit.Eventually(t, 5*time.Second, "every message durable", func() bool { d, _, _, _ := pc.state(); return d == n })
	testkit.Eventually(t, 5*time.Second, "the cursor at the end", func() bool { c, _ := e.buf.Cursor("cache"); return c.Offset == n })
	close(stop)
	select {
	case v := <-violations:
		t.Fatal(v)
	default:
	}
	_, _, writes, syncs := pc.state()
	// one sync per syncEvery while writing, plus the idle one and the replay check's
	if limit := int(elapsed/syncEvery) + 4; syncs > limit {
		t.Fatalf("%d syncs for %d writes in %s, want at most %d", syncs, writes, elapsed.Round(time.Millisecond), limit)
	}
	t.Logf("%d writes, %d syncs in %s", writes, syncs, elapsed.Round(time.Millisecond))
}

// A failed sync loses what it had not made durable (the pages are gone); the drainer
// writes it again, so every message ends up durable, none lost.
func TestFailedSyncWritesAgainWhatItHadNotMadeDurable(t *testing.T) {
	e := newEnv(t, "cache")
	pc := newPageCache()
	pc.failSyncAt[2], pc.failSyncAt[3], pc.failSyncAt[5] = true, true, true
	e.run(t, pc, Options{BatchMessages: 50})
	const n = 1000
	for i := 0; i < n; i += 10 {
		e.appendMessages(t, i, 10, 10)
		time.Sleep(5 * time.Millisecond)
	}
	testkit.Eventually(t, 10*time.Second, "every message durable", func() bool { d, _, _, _ := pc.state(); return d == n })
	testkit.Eventually(t, 5*time.Second, "the cursor at the end", func() bool { c, _ := e.buf.Cursor("cache"); return c.Offset == n })
	if _, _, _, syncs := pc.state(); syncs < 5 {
		t.Fatalf("only %d syncs: the failing ones were not all reached", syncs)
	}
	if got := testutil.ToFloat64(e.m.Retries.WithLabelValues("cache")); got == 0 {
		t.Fatal("the messages written again are not counted as retries")
	}
}
