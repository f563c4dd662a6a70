// Package bench holds edgeframe's throughput and latency benchmarks against real
// components. They print figures with b.ReportMetric (`make bench`, -benchtime 1x);
// each benchmark does its measurement once, whatever b.N is.
package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeframe/edgeframe/test/topology"
)

const (
	rawMessages   = 20000
	rawPayload    = 1024
	rawWindow     = 256 // QoS 1 publishes awaiting PUBACK
	latencyRate   = 1000
	measureWindow = 20 * time.Second
)

// BenchmarkTopology measures, in one run: (1) the raw limit — QoS 1, 1 KB messages
// through the three bridged brokers (same rendered configuration, TLS bridges) with a
// plain Go publisher at L2 and subscriber at L4; (2) the full edgeframe path
// (tempsensor → daprd → L2 → L3 → L4 → daprd → datagateway → file sink) at maximum
// rate, and the ratio (target ≥ 0.5); (3) p50/p99 end-to-end latency at 1,000 msg/s
// (target p99 ≤ 25 ms); (4) the peak RSS of every process.
func BenchmarkTopology(b *testing.B) {
	log.SetOutput(io.Discard)
	raw := rawLimit(b)
	b.ReportMetric(raw, "raw_msg/s")
	b.Logf("raw limit through three bridged brokers: %.0f msg/s (QoS 1, %d B)", raw, rawPayload)

	cfg := topology.TestConfig(b, false)
	cfg.Rate, cfg.OPCRate = latencyRate, 0
	topo, mon := topology.StartMonitoredT(b, cfg)
	ctx := context.Background()

	// (3) latency at 1,000 msg/s
	waitDeliveries(b, mon, 30*time.Second)
	time.Sleep(5 * time.Second) // warm-up
	before := len(mon.Latencies())
	time.Sleep(measureWindow)
	lat := mon.Latencies()[before:]
	p50, p99 := topology.Percentile(lat, 50), topology.Percentile(lat, 99)
	b.ReportMetric(float64(len(lat))/measureWindow.Seconds(), "delivered_msg/s_at_1000")
	b.ReportMetric(ms(p50), "p50_ms_at_1000")
	b.ReportMetric(ms(p99), "p99_ms_at_1000")

	// (2) maximum rate: offer far more than the path carries, measure what the sink gets
	if err := topo.SetRate(ctx, 20000); err != nil {
		b.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	d0, t0 := mon.Sample(ctx).Delivered, time.Now()
	time.Sleep(measureWindow)
	d1 := mon.Sample(ctx).Delivered
	full := float64(d1-d0) / time.Since(t0).Seconds()
	b.ReportMetric(full, "edgeframe_msg/s")
	b.ReportMetric(full/raw, "ratio")

	// (4) peak RSS of every process of the full topology
	rss := topo.PeakRSS()
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
	b.Logf("raw %.0f msg/s, edgeframe %.0f msg/s (ratio %.2f, target ≥ 0.5); at %d msg/s p50 %.1f ms p99 %.1f ms (target ≤ 25 ms); peak RSS: %s",
		raw, full, full/raw, latencyRate, ms(p50), ms(p99), strings.Join(lines, ", "))
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
	topo := topology.StartT(b, topology.TestConfig(b, true))
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
