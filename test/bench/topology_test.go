// Package bench holds edgeframe's throughput and latency benchmarks against real
// components. They print figures with b.ReportMetric (`make bench`, -benchtime 1x);
// each benchmark does its measurement once, whatever b.N is.
package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeframe/edgeframe/internal/topology"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/test/topologytest"
)

// deliveredMetric counts the messages the gateway wrote to its sinks.
const deliveredMetric = "edgeframe_datagateway_delivered_messages_total"

const (
	rawMessages   = 20000
	rawPayload    = 1024
	rawWindow     = 256 // QoS 1 publishes awaiting PUBACK
	latencyRate   = 1000
	loadWriters   = 4   // concurrent bulk publishers driving daprd at maximum rate
	loadBatch     = 100 // events per bulk publish (daprpub.QueueConfig.MaxBatch)
	measureWindow = 20 * time.Second
)

// BenchmarkTopology measures, in one run: (1) the raw limit — QoS 1, 1 KB messages
// through the three bridged brokers (same rendered configuration, TLS bridges) with a
// plain Go publisher at L2 and subscriber at L4; (2) the full edgeframe path
// (daprd at L2 → L2 → L3 → L4 → daprd → datagateway → file sink) at maximum rate,
// driven by concurrent publishers on the tempsensor's sidecar, and the ratio (target
// ≥ 0.5); (3) p50/p99 end-to-end latency at 1,000 msg/s
// (target p99 ≤ 25 ms); (4) the peak RSS of every process. For (2) and (3) it also
// prints the CPU every process used per message — on a small machine the path is CPU
// bound, and that says which process to make cheaper.
func BenchmarkTopology(b *testing.B) {
	log.SetOutput(io.Discard)
	raw := rawLimit(b)
	b.ReportMetric(raw, "raw_msg/s")
	b.Logf("(1) raw limit through three bridged brokers: %.0f msg/s (QoS 1, %d B payload, window %d)", raw, rawPayload, rawWindow)

	cfg := topologytest.TestConfig(b, false)
	cfg.Rate, cfg.OPCRate, cfg.DirectBridges = latencyRate, 0, true
	topo, mon := topologytest.StartMonitoredT(b, cfg)

	// (3) latency at 1,000 msg/s: the tempsensor at 1 ms. The taps are closed first: on
	// two cores every observer's CPU comes out of the path being measured (the sink
	// gives the latency: producer event time → gateway receipt).
	waitDeliveries(b, mon, 30*time.Second)
	mon.Close()
	time.Sleep(5 * time.Second) // warm-up
	before := len(mon.Latencies())
	cpu0, t0 := cpuNow(topo), time.Now()
	time.Sleep(measureWindow)
	lat := mon.Latencies()[before:]
	cpu := cpuSince(topo, cpu0, time.Since(t0))
	p50, p99 := topology.Percentile(lat, 50), topology.Percentile(lat, 99)
	atRate := float64(len(lat)) / measureWindow.Seconds()
	b.ReportMetric(atRate, "delivered_msg/s_at_1000")
	b.ReportMetric(ms(p50), "p50_ms_at_1000")
	b.ReportMetric(ms(p99), "p99_ms_at_1000")
	b.Logf("(3) tempsensor at %d msg/s: %.0f msg/s delivered, end-to-end p50 %.1f ms, p99 %.1f ms (target p99 ≤ 25 ms)", latencyRate, atRate, ms(p50), ms(p99))
	b.Logf("(3) CPU at that rate: %s", cpu.describe(atRate))
	b.Logf("(3) where the time goes (event time → seen at each broker, taps reconnected for %s): %s", hopWindow, hops(b, topo))

	// (2) maximum rate: stop the sensor and drive its sidecar with concurrent
	// publishers as fast as it accepts; the rate is what reaches the sink
	rssSensor := topo.PeakRSS()[topology.TempSensor]
	if err := topo.Stop(topology.TempSensor); err != nil {
		b.Fatal(err)
	}
	full, offered, cpuMax := maxRate(b, topo)
	b.ReportMetric(full, "edgeframe_msg/s")
	b.ReportMetric(full/raw, "ratio")
	b.Logf("(2) full edgeframe path: %.0f msg/s into the sink (%.0f msg/s accepted by daprd at L2); ratio to raw %.2f (target ≥ 0.5)", full, offered, full/raw)
	b.Logf("(2) CPU at that rate: %s", cpuMax.describe(full))

	// (4) peak RSS of every process of the full topology
	rss := topo.PeakRSS()
	rss[topology.TempSensor] = rssSensor // stopped before the maximum-rate phase
	names := make([]string, 0, len(rss))
	for n := range rss {
		names = append(names, n)
	}
	sort.Strings(names)
	var lines []string
	for _, n := range names {
		b.ReportMetric(float64(rss[n])/(1<<20), n+"_peak_RSS_MiB")
		lines = append(lines, fmt.Sprintf("%s %.1f MiB", n, float64(rss[n])/(1<<20)))
	}
	b.Logf("(4) peak RSS (VmHWM): %s", strings.Join(lines, ", "))
}

// hopWindow is how long hops watches the brokers.
const hopWindow = 5 * time.Second

// hops connects a timed tap to every broker for hopWindow and reports the latency from
// each message's event time to its arrival at that level.
func hops(b *testing.B, topo *topology.Topology) string {
	b.Helper()
	var taps []*topology.Tap
	for _, l := range topology.Levels {
		tap, err := topology.NewTap(l, topo.Brokers[l].URL, topology.MonitorUser, topo.Creds[l][topology.MonitorUser], false)
		if err != nil {
			b.Fatal(err)
		}
		tap.SetTimed(true)
		taps = append(taps, tap)
	}
	time.Sleep(hopWindow)
	var out []string
	for _, tap := range taps {
		tap.Close()
		tl := tap.Latencies()
		out = append(out, fmt.Sprintf("%s p50 %.1f ms p99 %.1f ms", strings.ToUpper(tap.Level), ms(topology.Percentile(tl, 50)), ms(topology.Percentile(tl, 99))))
	}
	return strings.Join(out, "; ")
}

// cpuUse is the CPU each process used over a window.
type cpuUse struct {
	window time.Duration
	by     map[string]time.Duration
}

// cpuNow samples the CPU time of every topology process and of this one (the harness).
func cpuNow(topo *topology.Topology) map[string]time.Duration {
	m := topo.CPUTime()
	if d, err := topology.CPUTimeOf(os.Getpid()); err == nil {
		m["harness"] = d
	}
	return m
}

func cpuSince(topo *topology.Topology, before map[string]time.Duration, window time.Duration) cpuUse {
	u := cpuUse{window: window, by: map[string]time.Duration{}}
	for n, d := range cpuNow(topo) {
		if d0, ok := before[n]; ok {
			u.by[n] = d - d0
		}
	}
	return u
}

// describe prints each process's share of a core and CPU per message at rate msg/s,
// and the rate the machine's cores could carry at that cost (harness excluded).
func (u cpuUse) describe(rate float64) string {
	names := slices.Sorted(maps.Keys(u.by))
	var parts []string
	var path time.Duration
	for _, n := range names {
		d := u.by[n]
		if n != "harness" {
			path += d
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%% (%.0f µs/msg)", n, 100*d.Seconds()/u.window.Seconds(), perMsg(d, u.window, rate)))
	}
	perPath := perMsg(path, u.window, rate)
	ceiling := float64(runtime.NumCPU()) * 1e6 / perPath
	return fmt.Sprintf("%s; path total %.0f µs/msg → at most %.0f msg/s on %d cores", strings.Join(parts, ", "), perPath, ceiling, runtime.NumCPU())
}

// perMsg is CPU microseconds per message.
func perMsg(d, window time.Duration, rate float64) float64 {
	if rate <= 0 {
		return 0
	}
	return d.Seconds() * 1e6 / (rate * window.Seconds())
}

// maxRate publishes ~1 KB CloudEvents through the tempsensor's daprd the way edgeframe
// producers do (daprpub bulk publish, batches of loadBatch) from loadWriters
// goroutines for measureWindow after a warm-up and returns the rate at which the
// gateway delivers them to the sink (its delivered counter) and the rate daprd accepted
// them. The monitor's taps are closed first: on two cores every observer's CPU comes
// out of the path being measured, and the raw limit has a single subscriber too.
func maxRate(b *testing.B, topo *topology.Topology) (sink, accepted float64, cpu cpuUse) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cli, err := daprpub.Dial(ctx, topo.Sidecars[topology.TempSensor].GRPCAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", topo.Apps[topology.DataGateway].HTTPPort)
	delivered := func() float64 {
		v, err := topology.ScrapeGauge(ctx, metrics, deliveredMetric)
		if err != nil {
			b.Fatalf("gateway metrics: %v", err)
		}
		return v
	}
	pad := strings.Repeat("x", 800)
	var published atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < loadWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			writer := fmt.Sprintf("load-%d", w)
			topic := "telemetry/bench/" + writer
			batch := make([]cloudevent.Event, 0, loadBatch)
			for seq := int64(1); ctx.Err() == nil; {
				batch = batch[:0]
				for range loadBatch {
					data, _ := json.Marshal(map[string]any{"seq": seq, "pad": pad})
					batch = append(batch, cloudevent.New("bench", writer, seq, cloudevent.SourceFor("l2", "bench"), time.Now(), data))
					seq++
				}
				if err := cli.PublishBatch(ctx, topology.PubSubName, topic, batch); err == nil {
					published.Add(int64(len(batch)))
				}
			}
		}()
	}
	time.Sleep(5 * time.Second) // warm-up
	d0, p0, t0, cpu0 := delivered(), published.Load(), time.Now(), cpuNow(topo)
	time.Sleep(measureWindow)
	d1, p1 := delivered(), published.Load()
	cpu = cpuSince(topo, cpu0, time.Since(t0))
	el := time.Since(t0).Seconds()
	cancel()
	wg.Wait()
	return (d1 - d0) / el, float64(p1-p0) / el, cpu
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func waitDeliveries(b *testing.B, mon *topology.Monitor, d time.Duration) {
	b.Helper()
	deadline := time.Now().Add(d)
	for len(mon.Delivered()) == 0 {
		if time.Now().After(deadline) {
			b.Fatalf("nothing reached the sink within %s", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// rawLimit publishes rawMessages 1 KB QoS 1 messages at L2 as fast as a window of
// rawWindow unacknowledged publishes allows and returns the rate at which they arrive
// at L4.
func rawLimit(b *testing.B) float64 {
	b.Helper()
	cfg := topologytest.TestConfig(b, true)
	cfg.DirectBridges = true
	topo := topologytest.StartT(b, cfg)
	l2, l4 := topo.Brokers["l2"], topo.Brokers["l4"]
	var got atomic.Int64
	done := make(chan struct{})
	sub := client(l4.URL, topology.MonitorUser, topo.Creds["l4"][topology.MonitorUser])
	sub.AddRoute("telemetry/#", func(_ mqtt.Client, m mqtt.Message) {
		if got.Add(1) == rawMessages {
			close(done)
		}
	})
	connect(b, sub)
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("telemetry/bench/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("subscribe at L4: %v", tok.Error())
	}
	pub := client(l2.URL, topology.PubSubUser, topo.Creds["l2"][topology.PubSubUser])
	connect(b, pub)
	defer pub.Disconnect(100)
	// the bridges connect asynchronously: wait for one message end to end
	for i := 0; got.Load() == 0; i++ {
		if i > 100 {
			b.Fatal("bridges not connected within 20 s")
		}
		pub.Publish("telemetry/bench/probe", 1, false, []byte("probe")).Wait()
		time.Sleep(200 * time.Millisecond)
	}
	got.Store(0)
	payload := make([]byte, rawPayload)
	window := make(chan mqtt.Token, rawWindow)
	start := time.Now()
	go func() {
		for i := 0; i < rawMessages; i++ {
			binary.BigEndian.PutUint64(payload, uint64(i))
			window <- pub.Publish("telemetry/bench/raw", 1, false, append([]byte(nil), payload...))
			if len(window) == rawWindow {
				(<-window).Wait()
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("raw: %d of %d messages arrived within 5 min", got.Load(), rawMessages)
	}
	return float64(rawMessages) / time.Since(start).Seconds()
}

func client(url, user, password string) mqtt.Client {
	o := mqtt.NewClientOptions().AddBroker(url).SetUsername(user).SetPassword(password).
		SetClientID(fmt.Sprintf("bench-%s-%d", user, time.Now().UnixNano()%1e9)).
		SetCleanSession(true).SetOrderMatters(false).SetConnectTimeout(5 * time.Second)
	return mqtt.NewClient(o)
}

func connect(b *testing.B, c mqtt.Client) {
	b.Helper()
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("connect: %v", tok.Error())
	}
}
