package sensor_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/model"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/sensor"
)

type discard struct{ n int }

func (d *discard) Enqueue(daprpub.Item) error { d.n++; return nil }

// BenchmarkLoopHoldsRate runs the real loop on the real clock at a 1 ms period (the
// local topology's load generator setting) and reports the rate it achieved and the
// CPU time one message costs (model step, JSON body, CloudEvent).
func BenchmarkLoopHoldsRate(b *testing.B) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{{"period=1ms", time.Millisecond}, {"period=200us", 200 * time.Microsecond}} {
		delay := tc.delay
		b.Run(tc.name, func(b *testing.B) {
			const n = 2000
			cfg := baseConfig()
			cfg.Delay, cfg.Count = delay, n
			q := &discard{}
			met := sensor.NewMetrics(nil, nil)
			s := sensor.New(cfg, model.New(model.DefaultParams(), rand.New(rand.NewPCG(1, 1))), q, sensor.SystemClock{}, met, nil)
			var total time.Duration
			for b.Loop() {
				q.n = 0
				t0 := time.Now()
				if err := s.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)
			}
			want := float64(time.Second / delay)
			got := float64(n-1) / (total.Seconds() / float64(b.N))
			b.ReportMetric(got, "msg/s")
			b.ReportMetric(got/want*100, "%-of-target")
			b.ReportMetric(testutil.ToFloat64(met.Resyncs), "resyncs")
		})
	}
}
