package gateway

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/config"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gwtest"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// outageCase is one sink type with a way to take its store offline and to read back
// the ids it stored.
type outageCase struct {
	name  string
	setup func(t *testing.T, dataDir string) (sc config.SinkConfig, down, up func(), ids func() map[string]int)
}

const ehConn = "Endpoint=sb://plant1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0"

var outageCases = []outageCase{
	{"file", func(t *testing.T, dataDir string) (config.SinkConfig, func(), func(), func() map[string]int) {
		dir := filepath.Join(dataDir, "out")
		return config.SinkConfig{Name: "local", Type: config.TypeFile, File: &config.FileConfig{Dir: dir}},
			func() { takeDown(t, dir) }, func() { bringBack(t, dir) },
			func() map[string]int { return gwtest.FileIDs(t, dir) }
	}},
	{"eventhubs-kafka", func(t *testing.T, _ string) (config.SinkConfig, func(), func(), func() map[string]int) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "telemetry"),
			kfake.EnableSASL(), kfake.Superuser("PLAIN", "$ConnectionString", ehConn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		var offline atomic.Bool
		// While offline, every produce request drops the connection, like an unreachable endpoint.
		c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			if offline.Load() {
				c.KeepControl()
				return nil, errors.New("event hubs unreachable"), true
			}
			return nil, nil, false
		})
		tls := false
		sc := config.SinkConfig{Name: "hub", Type: config.TypeEventHubs, Kafka: &config.KafkaConfig{
			Brokers: c.ListenAddrs(), Topic: "telemetry", ConnectionString: ehConn, TLS: &tls, Timeout: 5 * time.Second}}
		return sc, func() { offline.Store(true) }, func() { offline.Store(false) }, kafkaIDs(t, c)
	}},
	{"blob", func(t *testing.T, _ string) (config.SinkConfig, func(), func(), func() map[string]int) {
		az := testenv.StartAzurite(t)
		sc := config.SinkConfig{Name: "lake", Type: config.TypeBlob, Blob: &config.BlobConfig{
			ConnectionString: az.ConnectionString, Container: "telemetry", Gzip: true, Timeout: 5 * time.Second}}
		cl, err := azblob.NewClientFromConnectionString(az.ConnectionString, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sc, az.Stop, func() { az.Restart(t) }, func() map[string]int { return blobIDs(t, cl, "telemetry") }
	}},
}

// TestSinkOutage takes each sink's store offline for 60 s under a
// steady 100 msg/s stream: nothing published is lost, the backlog drains, the replay
// after the outage stays under its rate cap, and fresh messages flow during the replay.
// The three sinks run in parallel.
func TestSinkOutage(t *testing.T) {
	testkit.SkipShort(t, "mosquitto, daprd and a 60 s outage of each sink")
	const outage = 60 * time.Second
	for _, c := range outageCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			const (
				rate      = 100
				replayCap = 400.0
			)
			dataDir := t.TempDir()
			sc, down, up, ids := c.setup(t, dataDir)
			sc.Delivery = config.DeliveryConfig{BatchMessages: 100, RetryInitial: 100 * time.Millisecond, RetryMax: 2 * time.Second,
				BreakerFailures: 5, BreakerCooldown: 2 * time.Second, ReplayMaxRate: replayCap, ReplayThreshold: 200}
			r := startGateway(t, config.Config{DataDir: dataDir, Sinks: []config.SinkConfig{sc}})
			m := r.g.Metrics
			pub := gwtest.NewPublisher(t, r.broker.URL, c.name)
			ctx, stopPub := context.WithCancel(context.Background())
			pubDone := make(chan struct{})
			go func() { defer close(pubDone); pub.Run(ctx, rate, 200) }()
			defer func() { stopPub(); <-pubDone }()

			// The timeline under test: 3 s of steady stream, then the outage.
			time.Sleep(3 * time.Second)
			down()
			time.Sleep(outage)
			backlog := r.g.Buffer.Stats().Sinks[sc.Name]
			if backlog.Messages < uint64(rate*outage/time.Second/2) {
				t.Fatalf("backlog after the outage is only %d messages: the sink was not really offline", backlog.Messages)
			}
			t.Logf("%s offline for %s: backlog %d messages, %d bytes, oldest %s", c.name, outage, backlog.Messages, backlog.Bytes, backlog.OldestAge)
			up()

			// sample the replay counter while it runs
			type sample struct {
				at       time.Time
				replayed float64
			}
			var (
				samples  []sample
				sampleMu sync.Mutex
			)
			testkit.Eventually(t, 60*time.Second, "the replay to start", func() bool {
				return testutil.ToFloat64(m.ReplayActive.WithLabelValues(sc.Name)) == 1
			})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for testutil.ToFloat64(m.ReplayActive.WithLabelValues(sc.Name)) == 1 {
					sampleMu.Lock()
					samples = append(samples, sample{time.Now(), testutil.ToFloat64(m.Replayed.WithLabelValues(sc.Name))})
					sampleMu.Unlock()
					time.Sleep(200 * time.Millisecond)
				}
			}()
			// messages published now are stored while the replay still runs
			before := len(pub.Acked())
			time.Sleep(500 * time.Millisecond) // half a second of fresh messages (50 at 100/s)
			fresh := pub.Acked()[before:]
			freshSeen := false
			for !freshSeen && testutil.ToFloat64(m.ReplayActive.WithLabelValues(sc.Name)) == 1 {
				freshSeen = len(fresh) > 0 && len(gwtest.Missing(fresh, ids())) == 0
				time.Sleep(100 * time.Millisecond)
			}
			if !freshSeen {
				t.Errorf("fresh messages published during the replay were not stored before it ended")
			}
			<-sampled
			if len(samples) >= 8 {
				first, last := samples[0], samples[len(samples)-1]
				span := last.at.Sub(first.at).Seconds()
				got := (last.replayed - first.replayed) / span
				t.Logf("replay: %.0f messages in %.1f s = %.0f msg/s (cap %.0f)", last.replayed-first.replayed, span, got, replayCap)
				if got > replayCap*1.15 {
					t.Errorf("replay ran at %.0f msg/s, over the cap of %.0f", got, replayCap)
				}
			} else {
				t.Errorf("the replay was too short to measure (%d samples)", len(samples))
			}

			stopPub()
			<-pubDone
			want := pub.Acked()
			testkit.Eventually(t, 90*time.Second, "every published message in the sink", func() bool {
				return len(gwtest.Missing(want, ids())) == 0
			})
			testkit.Eventually(t, 10*time.Second, "the backlog to drain", func() bool {
				return r.g.Buffer.Stats().Sinks[sc.Name].Messages == 0
			})
			t.Logf("%s: %d messages published, all stored; retries %.0f", c.name, len(want), testutil.ToFloat64(m.Retries.WithLabelValues(sc.Name)))
			if testutil.ToFloat64(m.Dropped.WithLabelValues(sc.Name, "full")) != 0 {
				t.Error("messages were dropped")
			}
		})
	}
}

// kafkaIDs consumes the telemetry topic in the background and returns the ce_id headers seen.
func kafkaIDs(t *testing.T, c *kfake.Cluster) func() map[string]int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("telemetry"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.SASL(plain.Auth{User: "$ConnectionString", Pass: ehConn}.AsMechanism()))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				for _, h := range r.Headers {
					if h.Key == "ce_id" {
						mu.Lock()
						seen[string(h.Value)]++
						mu.Unlock()
					}
				}
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]int, len(seen))
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

// blobIDs downloads every blob and returns the ids of its lines.
func blobIDs(t *testing.T, cl *azblob.Client, container string) map[string]int {
	ids := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pager := cl.NewListBlobsFlatPager(container, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return ids // storage down or container not yet there
		}
		for _, it := range page.Segment.BlobItems {
			resp, err := cl.DownloadStream(ctx, container, *it.Name, nil)
			if err != nil {
				continue
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.HasSuffix(*it.Name, ".gz") && bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
				if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
					data, _ = io.ReadAll(zr)
				}
			}
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				var l message.Line
				if json.Unmarshal(sc.Bytes(), &l) == nil {
					ids[l.ID]++
				}
			}
		}
	}
	return ids
}
