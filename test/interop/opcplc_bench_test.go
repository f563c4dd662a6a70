package interop_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// BenchmarkOPCPLCFastNodes measures opcplc serving 1,000 fast nodes changing every
// 100 ms (10,000 value changes/s) to one gopcua client subscription (publishing and
// sampling 100 ms), with monitored item queue size 1 (OPC Publisher's default) and 10:
// notifications/s received, the fraction of all value changes delivered (every node
// counts up by one per change, so gaps are exact), values the server discarded from
// full queues, and the opcplc process's CPU and memory. One measurement per case
// whatever b.N is (make bench runs -benchtime 1x).
func BenchmarkOPCPLCFastNodes(b *testing.B) {
	for _, q := range []uint32{1, 10} {
		b.Run(fmt.Sprintf("queue=%d", q), func(b *testing.B) { benchFastNodes(b, q) })
	}
}

func benchFastNodes(b *testing.B, queue uint32) {
	const (
		nodes   = 1000
		warmup  = 3 * time.Second
		measure = 10 * time.Second
	)
	bin := testenv.BuildWorkload(b, "opcplc")
	port, web := testenv.FreePort(b), testenv.FreePort(b)
	proc := testenv.StartProcess(b, testenv.ProcSpec{
		Name: "opcplc", Path: bin,
		Args: []string{"--ph=127.0.0.1", "--listen=127.0.0.1", "--pn=" + strconv.Itoa(port), "--wp=" + strconv.Itoa(web), "--pki=" + b.TempDir(), "--ut", "--aa",
			"--fn=" + strconv.Itoa(nodes), "--vfr=100", "--sn=0"},
		Ready: supervise.DialReady(fmt.Sprintf("127.0.0.1:%d", port)),
	})
	ctx := context.Background()
	c, err := opcua.NewClient(fmt.Sprintf("opc.tcp://127.0.0.1:%d", port), opcua.SecurityMode(ua.MessageSecurityModeNone),
		opcua.SecurityPolicy("None"), opcua.AuthAnonymous(), opcua.AutoReconnect(false))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	ns := -1
	for i, u := range c.Namespaces() {
		if u == "http://microsoft.com/Opc/OpcPlc/" {
			ns = i
		}
	}
	if ns < 0 {
		b.Fatalf("no OPC PLC namespace in %v", c.Namespaces())
	}
	notes := make(chan *opcua.PublishNotificationData, 10000)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, notes)
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*ua.MonitoredItemCreateRequest, nodes)
	for i := range reqs {
		reqs[i] = opcua.NewMonitoredItemCreateRequestWithDefaults(ua.NewStringNodeID(uint16(ns), fmt.Sprintf("FastUInt%d", i+1)), ua.AttributeIDValue, uint32(i+1))
		reqs[i].RequestedParameters.SamplingInterval = 100
		reqs[i].RequestedParameters.QueueSize = queue
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, reqs...)
	if err != nil {
		b.Fatal(err)
	}
	for i, r := range res.Results {
		if r.StatusCode != ua.StatusOK {
			b.Fatalf("item %d: %v", i+1, r.StatusCode)
		}
	}

	type span struct{ first, last, seen uint32 }
	var spans [nodes + 1]span
	count := func(d time.Duration, record bool) (n int) {
		deadline := time.After(d)
		for {
			select {
			case <-deadline:
				return n
			case pn := <-notes:
				if pn.Error != nil {
					b.Fatalf("notification error: %v", pn.Error)
				}
				dcn, ok := pn.Value.(*ua.DataChangeNotification)
				if !ok {
					continue
				}
				for _, mi := range dcn.MonitoredItems {
					if !record || mi.ClientHandle == 0 || mi.ClientHandle > nodes || mi.Value.Value == nil {
						continue
					}
					v, _ := mi.Value.Value.Value().(uint32)
					s := &spans[mi.ClientHandle]
					if s.seen == 0 {
						s.first = v
					}
					s.last = v
					s.seen++
					n++
				}
			}
		}
	}
	count(warmup, false)
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", web)
	overflow0 := metricValue(b, metrics, "edgeframe_opcplc_queue_overflows_total")
	cpu0, t0 := procCPU(b, proc.PID()), time.Now()
	received := count(measure, true)
	elapsed := time.Since(t0)
	cpu := procCPU(b, proc.PID()) - cpu0
	overflows := metricValue(b, metrics, "edgeframe_opcplc_queue_overflows_total") - overflow0
	var changes uint64
	for _, s := range spans[1:] {
		if s.seen > 0 {
			changes += uint64(s.last-s.first) + 1
		}
	}
	peak, rss := procMem(b, proc.PID())
	b.ReportMetric(float64(received)/elapsed.Seconds(), "notifications/s")
	if changes > 0 {
		b.ReportMetric(100*float64(received)/float64(changes), "delivered_%")
	}
	b.ReportMetric(overflows, "queue_discards")
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "opcplc_cpu_%")
	b.ReportMetric(rss, "opcplc_rss_MiB")
	b.ReportMetric(peak, "opcplc_peak_rss_MiB")
}
