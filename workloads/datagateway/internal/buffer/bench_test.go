package buffer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkIngest1KiB appends 1 KiB records from 64 concurrent writers (as concurrent
// Dapr deliveries do); every Append returns only after its record is fsynced. Target:
// ≥ 20,000 msg/s on the 2-core CI machine.
func BenchmarkIngest1KiB(b *testing.B) {
	for _, c := range []struct {
		writers  int
		interval time.Duration
	}{{64, 0}, {64, time.Millisecond}, {256, 0}, {256, time.Millisecond}} {
		b.Run(fmt.Sprintf("writers=%d/commitInterval=%s", c.writers, c.interval), func(b *testing.B) {
			writers, interval := c.writers, c.interval
			const perOp = 20480
			buf, err := Open(Options{Dir: b.TempDir(), MaxBytes: 4 << 30, SegmentBytes: 64 << 20, Policy: PolicyReject,
				CommitInterval: interval, Sinks: []string{"s"}})
			if err != nil {
				b.Fatal(err)
			}
			defer buf.Close()
			payload := make([]byte, 1024)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < b.N; n++ {
				var wg sync.WaitGroup
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < perOp/writers; i++ {
							if _, err := buf.Append(ctx, payload); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
			}
			el := time.Since(start)
			total := float64(b.N * (perOp / writers) * writers)
			b.ReportMetric(total/el.Seconds(), "msg/s")
			b.ReportMetric(total*1024/el.Seconds()/(1<<20), "MiB/s")
		})
	}
}
