package deliver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/metrics"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/sink"
)

const benchMessages = 50000

// fill appends n ~1 KiB messages.
func fill(b *testing.B, buf *buffer.Buffer, n int) {
	b.Helper()
	ev := []byte(`{"specversion":"1.0","id":"load/w/1","source":"edgeframe/l2/load","type":"io.edgeframe.telemetry.load.v1","data":{"pad":"` + string(make([]byte, 0)) + pad(850) + `"}}`)
	ctx := context.Background()
	errs := make(chan error, 64)
	sem := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		m := message.Message{ID: "load/w/1", Topic: "telemetry/load/w", Key: "load/w", ReceivedAt: time.Now(), Event: ev}
		go func() {
			defer func() { <-sem }()
			if _, err := buf.Append(ctx, m.Marshal()); err != nil {
				errs <- err
			}
		}()
	}
	for i := 0; i < cap(sem); i++ {
		sem <- struct{}{}
	}
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

func pad(n int) string {
	p := make([]byte, n)
	for i := range p {
		p[i] = 'x'
	}
	return string(p)
}

// drain measures how fast one drainer empties a pre-filled buffer into s.
func drain(b *testing.B, newSink func(b *testing.B) sink.Sink) {
	var total float64
	var elapsed time.Duration
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		dir := b.TempDir()
		buf, err := buffer.Open(buffer.Options{Dir: filepath.Join(dir, "buffer"), MaxBytes: 4 << 30, SegmentBytes: 64 << 20, Policy: buffer.PolicyReject, Sinks: []string{"s"}})
		if err != nil {
			b.Fatal(err)
		}
		fill(b, buf, benchMessages)
		dl, _ := sink.NewDeadLetters(filepath.Join(dir, "dl"), 0, nil)
		s := newSink(b)
		d := New(buf, s, dl, Options{BatchMessages: 1000, BatchBytes: 1 << 20, ReplayMaxRate: 0}, metrics.New(prometheus.NewRegistry()), nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		b.StartTimer()
		start := time.Now()
		go func() { _ = d.Run(ctx) }()
		for {
			c, _ := buf.Cursor("s")
			if c.Offset == benchMessages {
				break
			}
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(start)
		total += benchMessages
		b.StopTimer()
		cancel()
		s.Close()
		buf.Close()
		b.StartTimer()
	}
	b.ReportMetric(total/elapsed.Seconds(), "msg/s")
}

// BenchmarkDrainFile: 50,000 ~1 KiB messages from the buffer to the local file sink (fsync per batch).
func BenchmarkDrainFile(b *testing.B) {
	drain(b, func(b *testing.B) sink.Sink {
		f, err := sink.NewFile("s", sink.FileOptions{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		return f
	})
}

// BenchmarkDrainKafka: the same to an in-process Kafka cluster (kfake), gzip batches.
func BenchmarkDrainKafka(b *testing.B) {
	drain(b, func(b *testing.B) sink.Sink {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "telemetry"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		k, err := sink.NewKafka("s", sink.KafkaOptions{Brokers: c.ListenAddrs(), Topic: "telemetry", Compression: "gzip", Linger: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		return k
	})
}
