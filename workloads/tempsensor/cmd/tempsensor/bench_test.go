package main_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkPublishThroughDaprd drives the real path — tempsensor → daprd (gRPC) →
// pubsub.mqtt3 QoS 1 → mosquitto → a subscriber — at a set rate and reports the rate
// delivered, the messages lost, and the latency from timeCreated to the subscriber.
// rate=1000 is the local topology's load setting (all must arrive); rate=5000 finds the
// ceiling of one sensor on this machine (beyond it the send queue drops, counted).
func BenchmarkPublishThroughDaprd(b *testing.B) {
	for _, rate := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			n := 3 * rate
			for b.Loop() {
				r := start(b, fmt.Sprintf("--rate=%d", rate), fmt.Sprintf("--message-count=%d", n))
				seen := map[int64]bool{}
				var first, last time.Time
				var lat []time.Duration
				// until all arrived, or nothing came for 5 s (the rest was dropped from the
				// full send queue: counted as lost)
				idle := time.NewTimer(30 * time.Second)
			recv:
				for len(seen) < n {
					select {
					case m := <-r.telemetry:
						idle.Reset(5 * time.Second)
						rd := decode(b, m)
						if first.IsZero() {
							first = m.At
						}
						last = m.At
						seen[rd.ev.Sequence] = true
						lat = append(lat, m.At.Sub(rd.body.TimeCreated))
					case <-idle.C:
						break recv
					}
				}
				slices.Sort(lat)
				pct := func(p float64) float64 {
					if len(lat) == 0 {
						return 0
					}
					return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
				}
				b.ReportMetric(float64(len(seen)-1)/last.Sub(first).Seconds(), "delivered-msg/s")
				b.ReportMetric(float64(n-len(seen)), "lost")
				b.ReportMetric(pct(0.5), "p50-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
			}
		})
	}
}
