// Package bench holds edgeframe's throughput, latency and memory benchmarks against real
// components. They print figures with b.ReportMetric and b.Logf (`make bench`, -benchtime 1x;
// each benchmark does its measurement once, whatever b.N is) and write them to bin/bench.json.
package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
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
	rawMessages = 20000
	rawPayload  = 1024
	rawWindow   = 256 // QoS 1 publishes awaiting PUBACK
	loadWriters = 4   // concurrent bulk publishers driving daprd at maximum rate
	loadBatch   = 100 // events per bulk publish (daprpub.QueueConfig.MaxBatch)
	// loadWindow bounds the messages published but not yet delivered at maximum rate: the
	// load follows what the path delivers instead of piling a backlog into the brokers (a
	// rate the path cannot sustain is not its maximum).
	loadWindow    = 4000
	measureWindow = 20 * time.Second
	// profileEnv names a directory: the benchmark then runs every sidecar, the tempsensor and
	// the gateway with Go's profiler and saves a CPU profile of each at 1,000 msg/s and at the
	// maximum rate, and a heap profile after the maximum rate (profiling costs CPU: the
	// figures of such a run are not comparable).
	profileEnv = "EDGEFRAME_BENCH_PROFILES"
)

// phases are the latency rates (msg/s) and how long each is measured.
var phases = []struct {
	rate   float64
	window time.Duration
}{{10, 20 * time.Second}, {100, 10 * time.Second}, {1000, measureWindow}}

// BenchmarkTopology measures, in one run on this machine:
//  1. the raw limit: QoS 1, 1 KB messages through the three bridged brokers (the same
//     rendered configuration, TLS bridges) from a plain Go publisher at L2 to a subscriber at
//     L4, and the raw path's latency at 10, 100 and 1,000 msg/s;
//  2. the full edgeframe path (tempsensor → daprd → L2 → L3 → L4 → daprd → datagateway → file
//     sink): p50/p99 end to end (event time → gateway receipt) at 10, 100 and 1,000 msg/s,
//     without the link proxies, CPU per message of every process at 1,000 msg/s and the
//     latency to each broker;
//  3. the maximum rate of the full path, driven through the tempsensor's sidecar, its ratio to
//     the raw limit and the CPU per message there;
//  4. the peak RSS of every process at 1,000 msg/s and at the maximum rate.
//
// Targets (issues 14 and 16): ratio ≥ 0.40, path CPU ≤ 450 µs/msg at the maximum rate, p99 ≤
// 25 ms at 1,000 msg/s, p50 ≤ 3 ms at 10 msg/s, workloads ≤ 30 MiB, daprd ≤ 128 MiB, mosquitto
// ≤ 64 MiB.
func BenchmarkTopology(b *testing.B) {
	log.SetOutput(io.Discard)
	ctx := context.Background()
	rep := TopologyReport{RawLatency: map[string]Latency{}, FullLatency: map[string]Latency{}, Hops: map[string]Latency{}}
	profiles := os.Getenv(profileEnv)

	// (1) the raw path
	rep.RawLimit = rawPath(b, rep.RawLatency)
	b.ReportMetric(rep.RawLimit, "raw_msg/s")
	b.Logf("(1) raw limit through three bridged brokers: %.0f msg/s (QoS 1, %d B payload, window %d)", rep.RawLimit, rawPayload, rawWindow)
	for _, p := range phases {
		b.Logf("(1) raw path at %4.0f msg/s: %s", p.rate, rep.RawLatency[rateKey(p.rate)])
	}

	// (2) the full path at 10, 100 and 1,000 msg/s
	cfg := topologytest.TestConfig(b, false)
	cfg.Rate, cfg.OPCRate, cfg.DirectBridges, cfg.Profiling = phases[0].rate, 0, true, profiles != ""
	topo, mon := topologytest.StartMonitoredT(b, cfg)
	// the taps are closed: on two cores every observer's CPU comes out of the path being
	// measured (the sink gives the latency: producer event time → gateway receipt)
	waitDeliveries(b, mon, 30*time.Second)
	mon.Close()
	for _, p := range phases {
		if err := topo.SetRate(ctx, p.rate); err != nil {
			b.Fatal(err)
		}
		time.Sleep(3 * time.Second) // warm-up: the new rate's first messages, the old ones drained
		if p.rate == 1000 {
			if err := topo.ResetPeakRSS(); err != nil {
				b.Fatal(err)
			}
		}
		before := len(mon.Latencies())
		cpu0, t0 := cpuNow(topo), time.Now()
		if profiles != "" && p.rate == 1000 {
			go cpuProfiles(b, topo, profiles, "at1000")
		}
		time.Sleep(p.window)
		lat := mon.Latencies()[before:]
		l := latencyOf(p.rate, lat)
		rep.FullLatency[rateKey(p.rate)] = l
		b.ReportMetric(l.P50, "p50_ms_at_"+rateKey(p.rate))
		b.ReportMetric(l.P99, "p99_ms_at_"+rateKey(p.rate))
		b.Logf("(2) full path at %4.0f msg/s: %s; raw path %s", p.rate, l, rep.RawLatency[rateKey(p.rate)])
		if p.rate == 1000 {
			cpu := cpuSince(topo, cpu0, time.Since(t0))
			delivered := float64(len(lat)) / p.window.Seconds()
			rep.At1000 = cpu.load(delivered, mib(topo.PeakRSS()))
			b.ReportMetric(delivered, "delivered_msg/s_at_1000")
			b.ReportMetric(rep.At1000.PathCPU, "path_cpu_µs/msg_at_1000")
			b.Logf("(2) CPU at 1000 msg/s (%.0f delivered): %s", delivered, cpu.describe(delivered))
			b.Logf("(2) where the time goes at 1000 msg/s: %s", hops(b, topo, rep.Hops))
		}
	}

	// (3) maximum rate: stop the sensor and drive its sidecar with concurrent publishers as
	// fast as the path delivers
	rssSensor := rep.At1000.PeakRSSMiB[topology.TempSensor]
	if err := topo.Stop(topology.TempSensor); err != nil {
		b.Fatal(err)
	}
	if err := topo.ResetPeakRSS(); err != nil {
		b.Fatal(err)
	}
	full, offered, cpuMax := maxRate(b, topo, profiles)
	rep.FullMax, rep.Ratio = full, full/rep.RawLimit
	rep.AtMax = cpuMax.load(full, mib(topo.PeakRSS()))
	rep.AtMax.PeakRSSMiB[topology.TempSensor] = rssSensor // stopped: the harness drives its sidecar
	b.ReportMetric(full, "edgeframe_msg/s")
	b.ReportMetric(rep.Ratio, "ratio")
	b.ReportMetric(rep.AtMax.PathCPU, "path_cpu_µs/msg_at_max")
	b.Logf("(3) full edgeframe path: %.0f msg/s into the sink (%.0f msg/s accepted by daprd at L2); ratio to raw %.2f (target ≥ 0.40)", full, offered, rep.Ratio)
	b.Logf("(3) CPU at that rate: %s (target path ≤ 450 µs/msg)", cpuMax.describe(full))
	if profiles != "" {
		heapProfiles(b, topo, profiles)
	}

	// (4) peak RSS of every process
	for n, v := range rep.AtMax.PeakRSSMiB {
		b.ReportMetric(max(v, rep.At1000.PeakRSSMiB[n]), n+"_peak_RSS_MiB")
	}
	b.Logf("(4) peak RSS at 1000 msg/s: %s", describeMiB(rep.At1000.PeakRSSMiB))
	b.Logf("(4) peak RSS at the maximum rate: %s (tempsensor: at 1000 msg/s)", describeMiB(rep.AtMax.PeakRSSMiB))
	writeBenchFile(b, func(f *benchFile) { f.Topology = newRun(rep) })
}

func rateKey(rate float64) string { return strconv.FormatFloat(rate, 'f', -1, 64) }

// hopWindow is how long hops watches the brokers.
const hopWindow = 5 * time.Second

// hops connects a timed tap to every broker for hopWindow and reports the latency from
// each message's event time to its arrival at that level.
func hops(b *testing.B, topo *topology.Topology, into map[string]Latency) string {
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
		l := latencyOf(topo.Cfg.Rate, tap.Latencies())
		into[tap.Level] = l
		out = append(out, fmt.Sprintf("%s p50 %.1f ms p99 %.1f ms", strings.ToUpper(tap.Level), l.P50, l.P99))
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

// load is the phase's figures at rate msg/s (harness excluded from the path total).
func (u cpuUse) load(rate float64, peak map[string]float64) Load {
	l := Load{Rate: rate, CPUPerMsg: map[string]float64{}, PeakRSSMiB: peak}
	for n, d := range u.by {
		l.CPUPerMsg[n] = perMsg(d, u.window, rate)
		if n != "harness" {
			l.PathCPU += l.CPUPerMsg[n]
		}
	}
	return l
}

// describe prints each process's share of a core and CPU per message at rate msg/s,
// and the rate the machine's cores could carry at that cost (harness excluded).
func (u cpuUse) describe(rate float64) string {
	l := u.load(rate, nil)
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(u.by)) {
		parts = append(parts, fmt.Sprintf("%s %.0f%% (%.0f µs/msg)", n, 100*u.by[n].Seconds()/u.window.Seconds(), l.CPUPerMsg[n]))
	}
	ceiling := float64(runtime.NumCPU()) * 1e6 / l.PathCPU
	return fmt.Sprintf("%s; path total %.0f µs/msg → at most %.0f msg/s on %d cores", strings.Join(parts, ", "), l.PathCPU, ceiling, runtime.NumCPU())
}

// perMsg is CPU microseconds per message.
func perMsg(d, window time.Duration, rate float64) float64 {
	if rate <= 0 {
		return 0
	}
	return d.Seconds() * 1e6 / (rate * window.Seconds())
}

// maxRate publishes ~1 KB CloudEvents through the tempsensor's daprd the way edgeframe
// producers do (daprpub bulk publish, batches of loadBatch) from loadWriters goroutines,
// keeping at most loadWindow messages published but not yet delivered, for measureWindow
// after a warm-up. It returns the rate at which the gateway delivers them to the sink (its
// delivered counter) and the rate daprd accepted them.
func maxRate(b *testing.B, topo *topology.Topology, profiles string) (sink, accepted float64, cpu cpuUse) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cli, err := daprpub.Dial(ctx, topo.Sidecars[topology.TempSensor].GRPCAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", topo.Apps[topology.DataGateway].HTTPPort)
	scrape := func() float64 {
		v, err := topology.ScrapeGauge(ctx, metrics, deliveredMetric)
		if err != nil && ctx.Err() == nil {
			b.Errorf("gateway metrics: %v", err)
		}
		return v
	}
	base := scrape()
	var published, delivered atomic.Int64
	// What the gateway delivered since the start, every 100 ms: each scrape costs the
	// gateway a registry gather (0.5–1 ms of CPU), which at the 20 ms this polled before was
	// about a tenth of the gateway's CPU at the maximum rate, charged to the product. A
	// cluster's Prometheus scrapes every 15–60 s. At ~8,000 msg/s the count is then at most
	// ~800 messages stale, well inside loadWindow.
	go func() {
		for t := time.NewTicker(100 * time.Millisecond); ctx.Err() == nil; <-t.C {
			delivered.Store(int64(scrape() - base))
		}
	}()
	pad := strings.Repeat("x", 800)
	var wg sync.WaitGroup
	for w := 0; w < loadWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			writer := fmt.Sprintf("load-%d", w)
			topic := "telemetry/bench/" + writer
			batch := make([]cloudevent.Event, 0, loadBatch)
			for seq := int64(1); ctx.Err() == nil; {
				if published.Load()-delivered.Load() > loadWindow {
					time.Sleep(time.Millisecond)
					continue
				}
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
	d0, p0, t0, cpu0 := scrape(), published.Load(), time.Now(), cpuNow(topo)
	if profiles != "" {
		go cpuProfiles(b, topo, profiles, "atmax")
	}
	time.Sleep(measureWindow)
	d1, p1 := scrape(), published.Load()
	cpu = cpuSince(topo, cpu0, time.Since(t0))
	el := time.Since(t0).Seconds()
	cancel()
	wg.Wait()
	return (d1 - d0) / el, float64(p1-p0) / el, cpu
}

// profileTargets are the pprof base URLs of the processes a profiling run serves.
func profileTargets(topo *topology.Topology) map[string]string {
	out := map[string]string{}
	for id, s := range topo.Sidecars {
		if s.ProfilePort != 0 {
			out["daprd-"+id] = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", s.ProfilePort)
		}
	}
	for _, w := range []string{topology.TempSensor, topology.DataGateway} {
		if a, ok := topo.Apps[w]; ok && topo.Sup.Get(w) != nil && !topo.Sup.Get(w).Exited() {
			out[w] = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", a.HTTPPort)
		}
	}
	return out
}

// cpuProfiles saves a 10 s CPU profile of every profiled process to dir/<phase>-<name>.cpu.pprof.
func cpuProfiles(b *testing.B, topo *topology.Topology, dir, phase string) {
	for name, url := range profileTargets(topo) {
		go saveProfile(b, url+"profile?seconds=10", filepath.Join(dir, phase+"-"+name+".cpu.pprof"))
	}
}

// heapProfiles saves a heap profile of every profiled process to dir/heap-<name>.pprof.
func heapProfiles(b *testing.B, topo *topology.Topology, dir string) {
	for name, url := range profileTargets(topo) {
		saveProfile(b, url+"heap", filepath.Join(dir, "heap-"+name+".pprof"))
	}
}

func saveProfile(b *testing.B, url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Logf("profile %s: %v", url, err)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Logf("profile %s: %s %v", url, resp.Status, err)
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		_ = os.WriteFile(path, data, 0o644)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func waitDeliveries(b *testing.B, mon *topology.Monitor, d time.Duration) {
	b.Helper()
	deadline := time.Now().Add(d)
	for len(mon.Latencies()) == 0 {
		if time.Now().After(deadline) {
			b.Fatalf("nothing reached the sink within %s", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// rawPath runs the three bridged brokers alone and measures the latency from a publisher at
// L2 to a subscriber at L4 at each phase's rate (the payload carries the send time), then
// the raw limit: rawMessages 1 KB QoS 1 messages published as fast as a window of rawWindow
// unacknowledged publishes allows, at the rate they arrive at L4.
func rawPath(b *testing.B, latency map[string]Latency) float64 {
	b.Helper()
	cfg := topologytest.TestConfig(b, true)
	cfg.DirectBridges = true
	topo := topologytest.StartT(b, cfg)
	l2, l4 := topo.Brokers["l2"], topo.Brokers["l4"]
	var got atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	done := make(chan struct{})
	sub := client(l4.URL, topology.MonitorUser, topo.Creds["l4"][topology.MonitorUser])
	sub.AddRoute("telemetry/#", func(_ mqtt.Client, m mqtt.Message) {
		if p := m.Payload(); m.Topic() == "telemetry/bench/timed" && len(p) >= 8 {
			d := time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(p))))
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
			return
		}
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
	for _, p := range phases {
		mu.Lock()
		lat = lat[:0]
		mu.Unlock()
		tick := time.NewTicker(time.Duration(float64(time.Second) / p.rate))
		for end := time.Now().Add(p.window); time.Now().Before(end); <-tick.C {
			binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
			pub.Publish("telemetry/bench/timed", 1, false, append([]byte(nil), payload...))
		}
		tick.Stop()
		time.Sleep(time.Second) // the last messages arrive
		mu.Lock()
		latency[rateKey(p.rate)] = latencyOf(p.rate, lat)
		mu.Unlock()
	}
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
