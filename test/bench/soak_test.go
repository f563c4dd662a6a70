package bench

import (
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/topologytest"
)

// soakEnv holds the soak's duration (`make soak DURATION=10m` sets it).
const soakEnv = "EDGEFRAME_SOAK_DURATION"

const (
	soakRate   = 1000
	soakSample = 10 * time.Second
	// soakDrain bounds the wait for the replay to reach the sink after the producers stop.
	soakDrain = 10 * time.Minute
)

// BenchmarkSoak holds the full path at 1,000 msg/s for the duration in EDGEFRAME_SOAK_DURATION,
// cuts the gateway's sink for its middle third and restores it, and samples every process's
// RSS every 10 s. It prints each process's RSS at the start (after the first sample, the
// warm-up), the middle and the end, its peak, and whether it grew after warm-up (end more than
// 10 % above the middle); then it stops the producer, waits for the replay and checks that
// every id produced reached the sink (0 missing).
func BenchmarkSoak(b *testing.B) {
	d, err := time.ParseDuration(os.Getenv(soakEnv))
	if err != nil || d < time.Minute {
		b.Skipf("set %s to a duration of at least 1m (make soak DURATION=10m)", soakEnv)
	}
	log.SetOutput(io.Discard)
	ctx := context.Background()
	cfg := topologytest.TestConfig(b, false)
	cfg.Rate, cfg.OPCRate, cfg.DirectBridges = soakRate, 0, true
	topo, mon := topologytest.StartMonitoredT(b, cfg)
	waitDeliveries(b, mon, 30*time.Second)
	if err := topo.ResetPeakRSS(); err != nil {
		b.Fatal(err)
	}

	rep := SoakReport{Duration: d.String(), Rate: soakRate, SinkDown: (d / 3).String(), Processes: map[string]SoakProcess{}}
	start := time.Now()
	var restore func() error
	phase := "steady"
	tick := time.NewTicker(soakSample)
	defer tick.Stop()
	for now := start; now.Sub(start) < d; now = <-tick.C {
		at := now.Sub(start)
		switch {
		case restore == nil && phase == "steady" && at >= d/3:
			if restore, err = topo.FailSink(); err != nil {
				b.Fatal(err)
			}
			phase = "sink down"
			b.Logf("%4.0f s: sink cut", at.Seconds())
		case restore != nil && at >= 2*d/3:
			if err := restore(); err != nil {
				b.Fatal(err)
			}
			restore, phase = nil, "replay"
			b.Logf("%4.0f s: sink restored", at.Seconds())
		}
		s := SoakSample{At: at.Seconds(), Phase: phase, RSSMiB: mib(topo.RSS())}
		rep.Samples = append(rep.Samples, s)
		b.Logf("%4.0f s %-9s RSS: %s", s.At, phase, describeMiB(s.RSSMiB))
	}
	if restore != nil {
		if err := restore(); err != nil {
			b.Fatal(err)
		}
	}
	peak := mib(topo.PeakRSS())

	// every id produced reaches the sink
	topo.StopProducers()
	drainStart := time.Now()
	dctx, cancel := context.WithTimeout(ctx, soakDrain)
	defer cancel()
	verdict := mon.WaitDelivered(dctx)
	rep.DrainSeconds = time.Since(drainStart).Seconds()
	rep.Produced, rep.Missing, rep.Duplicates = verdict.Produced, len(verdict.Missing), verdict.Duplicates

	// RSS over the run: the first sample is the end of warm-up
	if len(rep.Samples) < 3 {
		b.Fatalf("%d RSS samples: the soak is too short", len(rep.Samples))
	}
	first, middle, last := rep.Samples[1], rep.Samples[len(rep.Samples)/2], rep.Samples[len(rep.Samples)-1]
	var lines []string
	for _, n := range slices.Sorted(maps.Keys(last.RSSMiB)) {
		p := SoakProcess{Start: first.RSSMiB[n], Middle: middle.RSSMiB[n], End: last.RSSMiB[n], Peak: peak[n]}
		p.Grew = p.End > 1.1*p.Middle
		rep.Processes[n] = p
		grew := "no growth"
		if p.Grew {
			grew = "GREW"
		}
		lines = append(lines, fmt.Sprintf("%s: start %.1f, middle %.1f, end %.1f, peak %.1f MiB, %s", n, p.Start, p.Middle, p.End, p.Peak, grew))
		b.ReportMetric(p.Peak, n+"_peak_RSS_MiB")
	}
	b.Logf("RSS after warm-up (MiB):\n  %s", strings.Join(lines, "\n  "))
	b.Logf("%d ids produced, %d missing, %d delivered twice; the replay drained %.0f s after the producer stopped", rep.Produced, rep.Missing, rep.Duplicates, rep.DrainSeconds)
	b.ReportMetric(float64(rep.Missing), "missing")
	writeBenchFile(b, func(f *benchFile) { f.Soak = newRun(rep) })
	if rep.Missing > 0 {
		b.Errorf("%d ids never reached the sink (first: %v)", rep.Missing, verdict.Missing[:min(5, len(verdict.Missing))])
	}
}
