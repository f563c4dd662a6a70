package interop_test

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
)

// procCPU is a process's user+system CPU time from /proc/<pid>/stat.
func procCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("cpu of %d: %v", pid, err)
	}
	// Fields after the command (which may contain spaces) start after the last ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15 stime
	const clkTck = 100                       // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck
}

// procMem is VmHWM (peak RSS) and VmRSS of a process, in MiB.
func procMem(t testing.TB, pid int) (peak, rss float64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("memory of %d: %v", pid, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		var kb float64
		if n, _ := fmt.Sscanf(sc.Text(), "VmHWM: %f kB", &kb); n == 1 {
			peak = kb / 1024
		}
		if n, _ := fmt.Sscanf(sc.Text(), "VmRSS: %f kB", &kb); n == 1 {
			rss = kb / 1024
		}
	}
	return peak, rss
}

// metricValue reads one unlabelled sample from a Prometheus text endpoint.
func metricValue(t testing.TB, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return math.NaN()
}

// BenchmarkOPCUAPipeline: opcplc with 1,000 fast nodes changing every 100 ms (10,000
// value changes/s) → opcpublisher → daprd → mosquitto → an MQTT subscriber. Reported:
// the fraction of value changes delivered (every FastUInt steps by one per change, so
// each node's received values must cover its range without holes), the delivered rate,
// the publisher's CPU (% of one core) and peak RSS, opcplc's RSS, and the drops.
// One iteration measures a fixed window (EDGEFRAME_BENCH_WINDOW, default 20s).
func BenchmarkOPCUAPipeline(b *testing.B) {
	const nodes = 1000
	window := 20 * time.Second
	if v := os.Getenv("EDGEFRAME_BENCH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("EDGEFRAME_BENCH_WINDOW: %v", err)
		}
		window = d
	}
	rig := startPubRig(b)
	plc := testenv.StartOPCPLC(b, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", strconv.Itoa(nodes), "--vfr", "100", "--sn", "0"}})
	var pn strings.Builder
	fmt.Fprintf(&pn, `[{"EndpointUrl":%q,"DataSetWriterGroup":"bench","DataSetWriterId":"fast","OpcNodes":[`, plc.Endpoint)
	for i := 1; i <= nodes; i++ {
		if i > 1 {
			pn.WriteString(",")
		}
		fmt.Fprintf(&pn, `{"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt%d","DisplayName":"F%d","OpcSamplingInterval":100,"OpcPublishingInterval":100,"QueueSize":10}`, i, i)
	}
	pn.WriteString("]}]")
	pub, httpPort := rig.startPublisherHTTP(b, "opcpublisher", pn.String(), "--bs", "1", "--om", "4096")

	// Warm up until full messages flow, then measure a window.
	collect(b, rig.sub, 60*time.Second, func(rs []received) bool { return len(rs) >= 20 })
	b.ResetTimer()
	for range b.N {
		cpu0, t0 := procCPU(b, pub.PID()), time.Now()
		rs := collect(b, rig.sub, window, func([]received) bool { return false })
		elapsed, cpu := time.Since(t0), procCPU(b, pub.PID())-cpu0

		values := make(map[string]map[uint64]bool, nodes)
		messages := 0
		for _, r := range rs {
			if r.topic != "telemetry/opcua/bench" {
				continue
			}
			messages++
			for _, m := range decodeNetworkMessage(b, r.ev).Messages {
				for f, v := range m.Payload {
					x, ok := v.Value.(float64)
					if !ok {
						continue
					}
					if values[f] == nil {
						values[f] = map[uint64]bool{}
					}
					values[f][uint64(x)] = true
				}
			}
		}
		var got, want float64
		for _, vs := range values {
			lo, hi := uint64(math.MaxUint64), uint64(0)
			for v := range vs {
				lo, hi = min(lo, v), max(hi, v)
			}
			got += float64(len(vs))
			want += float64(hi - lo + 1)
		}
		pubPeak, _ := procMem(b, pub.PID())
		plcPeak, plcRSS := procMem(b, plc.PID())
		frac := 0.0
		if want > 0 {
			frac = got / want
		}
		b.ReportMetric(frac, "delivered_fraction")
		b.ReportMetric(got/elapsed.Seconds(), "value_changes/s")
		b.ReportMetric(float64(len(values)), "nodes_seen")
		b.ReportMetric(float64(messages)/elapsed.Seconds(), "messages/s")
		b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "publisher_cpu_%")
		b.ReportMetric(pubPeak, "publisher_peak_rss_MiB")
		b.ReportMetric(plcRSS, "opcplc_rss_MiB")
		b.ReportMetric(plcPeak, "opcplc_peak_rss_MiB")
		b.ReportMetric(metricValue(b, fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort), "edgeframe_opcpublisher_messages_dropped_total"), "dropped_messages")
	}
}
