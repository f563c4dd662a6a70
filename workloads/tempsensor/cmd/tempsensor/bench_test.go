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
func BenchmarkPublishThroughDaprd(b *testing.B) {
	for _, rate := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			n := 3 * rate
			for b.Loop() {
				r := start(b, fmt.Sprintf("--rate=%d", rate), fmt.Sprintf("--message-count=%d", n))
				seen := map[int64]bool{}
				var first, last time.Time
				var lat []time.Duration
				timeout := time.After(time.Duration(n/rate)*time.Second + 60*time.Second)
			recv:
				for len(seen) < n {
					select {
					case m := <-r.telemetry:
						rd := decode(b, m)
						if first.IsZero() {
							first = m.At
						}
						last = m.At
						seen[rd.ev.Sequence] = true
						lat = append(lat, m.At.Sub(rd.body.TimeCreated))
					case <-timeout:
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
