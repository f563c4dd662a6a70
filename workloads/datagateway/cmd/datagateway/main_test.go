package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gwtest"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gwtest/sidecar"
)

// TestKillMinus9DuringA1000MessagePerSecondStream runs the real binary behind a real
// daprd and mosquitto, kills it with SIGKILL twice while 1,000 msg/s stream in, restarts
// it, and checks that every message id the broker acknowledged reaches the file sink.
func TestKillMinus9DuringA1000MessagePerSecondStream(t *testing.T) {
	bin := testenv.BuildWorkload(t, "datagateway")
	broker := profile.StartMosquitto(t, "l4")
	dataDir := t.TempDir()
	appPort, httpPort := testenv.FreePort(t), testenv.FreePort(t)
	gw := testenv.StartProcess(t, testenv.ProcSpec{
		Name: "datagateway",
		Path: bin,
		Args: []string{"--data-dir", dataDir, "--app-port", strconv.Itoa(appPort), "--http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort)},
		// an unset variable must not leak a developer's configuration into the test
		Env:   []string{"EDGEFRAME_DATAGATEWAY_CONFIG="},
		Ready: supervise.HTTPReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)),
	})
	sidecar.Start(t, broker.URL, appPort)
	out := filepath.Join(dataDir, "telemetry")
	// wait until the subscription works end to end
	probe := gwtest.NewPublisher(t, broker.URL, "probe")
	testkit.Eventually(t, 30*time.Second, "a probe message in the file sink", func() bool {
		raw, id := probe.Event(0)
		probe.PublishOne(t, raw, id)
		time.Sleep(200 * time.Millisecond) // one probe per look: time for it to cross before the next is sent
		return len(gwtest.FileIDs(t, out)) > 0
	})

	pub := gwtest.NewPublisher(t, broker.URL, "stream")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pub.Run(ctx, 1000, 200) }()
	// The timeline under test: 3 s of the stream, kill -9, 1 s down, restart; twice; 3 s more.
	for kill := 1; kill <= 2; kill++ {
		time.Sleep(3 * time.Second)
		pid := gw.PID()
		gw.Kill()
		t.Logf("kill -9 #%d of the gateway (pid %d) after %d messages published", kill, pid, len(pub.Acked()))
		time.Sleep(time.Second)
		gw.Restart(t)
	}
	time.Sleep(3 * time.Second)
	stop()
	<-done
	want := pub.Acked()
	if len(want) < 7000 {
		t.Fatalf("only %d messages were published in ~11 s: the stream did not run at 1,000 msg/s", len(want))
	}
	var missing []string
	testkit.Eventually(t, 120*time.Second, "every acknowledged message in the file sink", func() bool {
		missing = gwtest.Missing(want, gwtest.FileIDs(t, out))
		return len(missing) == 0
	})
	got := gwtest.FileIDs(t, out)
	dups := 0
	for _, id := range want {
		dups += got[id] - 1
	}
	t.Logf("%d messages published at 1,000 msg/s across two kill -9, all %d stored (%d duplicates, at-least-once)", len(want), len(want), dups)
	if strings.Contains(gw.Log(), `"level":"ERROR"`) {
		t.Logf("gateway log has errors:\n%s", gw.Log())
	}
}

// BenchmarkLivePathAndPeakRSS pushes 10,000 ~1 KiB CloudEvents through mosquitto and
// daprd into the real binary as fast as the path takes them, and reports the live-path
// ingest rate (messages acknowledged to Dapr per second) and the gateway's peak RSS
// (VmHWM, which excludes the page cache). Target: ≤ 30 MiB.
func BenchmarkLivePathAndPeakRSS(b *testing.B) {
	bin := testenv.BuildWorkload(b, "datagateway")
	broker := profile.StartMosquitto(b, "l4")
	dataDir := b.TempDir()
	appPort, httpPort := testenv.FreePort(b), testenv.FreePort(b)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort)
	gw := testenv.StartProcess(b, testenv.ProcSpec{
		Name: "datagateway", Path: bin,
		Args:  []string{"--data-dir", dataDir, "--app-port", strconv.Itoa(appPort), "--http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "--pprof"},
		Env:   []string{"EDGEFRAME_DATAGATEWAY_CONFIG=", "GOMEMLIMIT=" + os.Getenv("DATAGATEWAY_BENCH_GOMEMLIMIT")},
		Ready: supervise.HTTPReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)),
	})
	sidecar.Start(b, broker.URL, appPort)
	pub := gwtest.NewPublisher(b, broker.URL, "bench")
	testkit.Eventually(b, 30*time.Second, "the first message accepted", func() bool {
		raw, id := pub.Event(850)
		pub.PublishOne(b, raw, id)
		time.Sleep(200 * time.Millisecond) // one probe per look: time for it to cross before the next is sent
		return counter(b, metricsURL, `edgeframe_datagateway_received_messages_total{result="accepted"}`) > 0
	})
	const n = 10000
	// RssAnon (heap, stacks, runtime) leaves out the binary's file-backed pages, which
	// VmHWM counts; /proc keeps no peak of it, so sample it.
	anonPeak, stopSampling := sampleAnonPeak(gw.PID())
	b.ResetTimer()
	var rate float64
	for i := 0; i < b.N; i++ {
		before := counter(b, metricsURL, `edgeframe_datagateway_received_messages_total{result="accepted"}`)
		start := time.Now()
		ctx, stop := context.WithCancel(context.Background())
		go pub.Run(ctx, 50000, 850)
		for deadline := time.Now().Add(5 * time.Minute); counter(b, metricsURL, `edgeframe_datagateway_received_messages_total{result="accepted"}`)-before < n; time.Sleep(500 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("10,000 messages not accepted within 5 minutes")
			}
		}
		stop()
		rate = n / time.Since(start).Seconds()
	}
	b.StopTimer()
	testkit.Eventually(b, 2*time.Minute, "the backlog to drain", func() bool {
		return counter(b, metricsURL, `edgeframe_datagateway_backlog_messages{sink="local"}`) == 0
	})
	hwm := vmHWM(b, gw.PID())
	stopSampling()
	if out := os.Getenv("DATAGATEWAY_BENCH_HEAP"); out != "" {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap", httpPort))
		if err == nil {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_ = os.WriteFile(out, data, 0o600)
		}
	}
	for _, m := range []string{"go_memstats_heap_inuse_bytes", "go_memstats_sys_bytes", "go_goroutines", "go_memstats_heap_objects"} {
		b.Logf("%s %.0f", m, counter(b, metricsURL, m))
	}
	b.ReportMetric(rate, "live-msg/s")
	b.ReportMetric(float64(hwm)/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(anonPeak.Load())/1024, "peak-anon-RSS-MiB")
}

// sampleAnonPeak records the largest RssAnon (KiB) of pid every 50 ms until stopped.
func sampleAnonPeak(pid int) (*atomic.Int64, func()) {
	var peak atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := procStatusKB(pid, "RssAnon:"); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return &peak, func() { close(done); <-stopped }
}

// procStatusKB reads one "Field: N kB" line of /proc/pid/status (0 when unreadable).
func procStatusKB(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// counter reads one sample from a Prometheus text exposition.
func counter(t testing.TB, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// vmHWM is the peak resident set size of pid in KiB.
func vmHWM(t testing.TB, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
