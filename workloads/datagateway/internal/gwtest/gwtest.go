// Package gwtest is the datagateway's test harness: the gateway's stores, a rate-controlled
// CloudEvent publisher, and readers of what the sinks stored. The real daprd wired to the
// gateway is in gwtest/sidecar.
package gwtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// Publisher publishes CloudEvents at QoS 1 to mosquitto the way a producer's daprd does
// (the structured CloudEvent is the MQTT payload), and remembers every id the broker
// acknowledged.
type Publisher struct {
	c      mqtt.Client
	writer string
	topic  string
	seq    atomic.Int64

	mu    sync.Mutex
	acked []string
}

// NewPublisher connects a publisher for topic telemetry/load/<writer>.
func NewPublisher(t testing.TB, brokerURL, writer string) *Publisher {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(brokerURL).SetClientID("gwtest-pub-" + writer + fmt.Sprint(time.Now().UnixNano()%1e6)).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(true).SetMaxResumePubInFlight(1000)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("gwtest: publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	return &Publisher{c: c, writer: writer, topic: "telemetry/load/" + writer}
}

// Event returns the next CloudEvent of this publisher (id load/<writer>/<seq>).
func (p *Publisher) Event(pad int) ([]byte, string) {
	seq := p.seq.Add(1)
	data := fmt.Sprintf(`{"seq":%d,"pad":"%s"}`, seq, padding(pad))
	ev := cloudevent.New("load", p.writer, seq, cloudevent.SourceFor("l2", "gwtest"), time.Now(), json.RawMessage(data))
	ev.TraceParent = fmt.Sprintf("00-%032x-%016x-01", seq+1, seq+1)
	b, err := cloudevent.Encode(ev)
	if err != nil {
		panic(err)
	}
	return b, ev.ID
}

func padding(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

// PublishOne publishes one event and waits for the broker's acknowledgement.
func (p *Publisher) PublishOne(t testing.TB, raw []byte, id string) {
	t.Helper()
	tok := p.c.Publish(p.topic, 1, false, raw)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("gwtest: publish %s: %v", id, tok.Error())
	}
	p.mu.Lock()
	p.acked = append(p.acked, id)
	p.mu.Unlock()
}

// Run publishes at rate messages/s until ctx ends. Ids are recorded once the broker
// acknowledged them.
func (p *Publisher) Run(ctx context.Context, rate int, pad int) {
	tick := time.Second / time.Duration(rate)
	next := time.Now()
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		raw, id := p.Event(pad)
		tok := p.c.Publish(p.topic, 1, false, raw)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
				p.mu.Lock()
				p.acked = append(p.acked, id)
				p.mu.Unlock()
			}
		}()
		next = next.Add(tick)
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
	}
}

// Acked is every id the broker acknowledged.
func (p *Publisher) Acked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.acked...)
}

// FileIDs reads every JSON line the file sink wrote under dir: id → occurrences.
func FileIDs(t testing.TB, dir string) map[string]int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	sort.Strings(files)
	ids := map[string]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 8<<20)
		for sc.Scan() {
			var l message.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				// a line being written right now; the next read sees it whole
				continue
			}
			ids[l.ID]++
		}
		fh.Close()
	}
	return ids
}

// Missing lists the ids of want that got lacks.
func Missing(want []string, got map[string]int) []string {
	var out []string
	for _, id := range want {
		if got[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}
