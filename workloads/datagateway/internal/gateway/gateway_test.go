package gateway

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/config"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gwtest"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gwtest/sidecar"
)

// running is an in-process gateway with its real sidecar and broker.
type running struct {
	g      *Gateway
	cfg    config.Config
	broker *testenv.Mosquitto
	daprd  *testenv.Daprd
	cancel context.CancelFunc
	done   chan error
}

// startGateway runs the gateway for cfg (DataDir set by the caller or a temp dir) behind
// a real daprd subscribed on a real mosquitto.
func startGateway(t *testing.T, cfg config.Config) *running {
	t.Helper()
	broker := profile.StartMosquitto(t, "l4")
	return startGatewayOn(t, broker, cfg)
}

func startGatewayOn(t *testing.T, broker *testenv.Mosquitto, cfg config.Config) *running {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.SetDefaults()
	port := testenv.FreePort(t)
	g, err := New(cfg, Options{
		AppAddr: "127.0.0.1:" + strconv.Itoa(port), HTTPAddr: "127.0.0.1:0",
		Logger: observe.NewLogger(testWriter{t}, config.AppID, "l4", nil), Registry: observe.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{g: g, cfg: cfg, broker: broker, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- g.Run(ctx) }()
	t.Cleanup(r.stop)
	r.daprd = sidecar.Start(t, broker.URL, port)
	// daprd subscribes shortly after it is healthy; wait until a probe message arrives
	pub := gwtest.NewPublisher(t, broker.URL, "probe")
	testkit.Eventually(t, 30*time.Second, "the sidecar to deliver a probe message", func() bool {
		raw, id := pub.Event(0)
		pub.PublishOne(t, raw, id)
		time.Sleep(200 * time.Millisecond) // one probe per look: time for it to cross before the next is sent
		return testutil.ToFloat64(g.Metrics.Received.WithLabelValues("accepted")) > 0
	})
	return r
}

func (r *running) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func fileDir(r *running) string { return r.cfg.Sinks[0].File.Dir }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndToEndThroughDaprdToTheFileSink(t *testing.T) {
	r := startGateway(t, config.Config{})
	pub := gwtest.NewPublisher(t, r.broker.URL, "e2e")
	for i := 0; i < 200; i++ {
		raw, id := pub.Event(64)
		pub.PublishOne(t, raw, id)
	}
	// poison through the real path: garbage and an oversized event
	poison := gwtest.NewPublisher(t, r.broker.URL, "poison")
	testenv.Publish(t, r.broker.URL, "telemetry/load/poison", []byte("not a cloudevent"))
	big, _ := poison.Event(2 << 20)
	testenv.Publish(t, r.broker.URL, "telemetry/load/poison", big)
	testkit.Eventually(t, 30*time.Second, "200 events in the file sink", func() bool {
		return len(gwtest.Missing(pub.Acked(), gwtest.FileIDs(t, fileDir(r)))) == 0
	})
	testkit.Eventually(t, 10*time.Second, "2 dead letters", func() bool {
		return testutil.ToFloat64(r.g.Metrics.DeadLettered.WithLabelValues("ingest", "undecodable")) == 1 &&
			testutil.ToFloat64(r.g.Metrics.DeadLettered.WithLabelValues("ingest", "oversized")) == 1
	})
	base := "http://" + r.g.HTTPAddr()
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	// the backlog gauge follows the sink's committed cursor, a moment after the lines are written
	var metrics string
	testkit.Eventually(t, 10*time.Second, "backlog 0 in /metrics", func() bool {
		_, metrics = get(t, base+"/metrics")
		return strings.Contains(metrics, `edgeframe_datagateway_backlog_messages{sink="local"} 0`)
	})
	for _, m := range []string{
		`edgeframe_datagateway_delivered_messages_total{sink="local"}`,
		`edgeframe_datagateway_backlog_oldest_age_seconds{sink="local"}`,
		`edgeframe_datagateway_deadlettered_messages_total{reason="oversized",stage="ingest"} 1`,
		`edgeframe_datagateway_buffer_commit_seconds_count`,
		`edgeframe_datagateway_buffer_commit_records_bucket`,
		`edgeframe_datagateway_ingest_delivery_seconds_count`,
	} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	dl := gwtest.FileIDs(t, filepath.Join(r.cfg.DataDir, "deadletter"))
	if dl[""] != 2 { // neither poison message has a readable id
		t.Errorf("dead-letter store holds %v", dl)
	}
}

// TestRejectPolicyKeepsMessagesAtTheBroker fills a tiny buffer while the sink is down:
// the gateway answers RETRY, daprd keeps retrying (resiliency policy), the broker keeps
// the messages, and once the sink is back every message arrives.
func TestRejectPolicyKeepsMessagesAtTheBroker(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cfg := config.Config{DataDir: dir, Buffer: config.BufferConfig{MaxBytes: 64 << 10, SegmentBytes: 16 << 10, Policy: "reject"},
		MaxMessageBytes: 8 << 10,
		Sinks: []config.SinkConfig{{Name: "local", Type: config.TypeFile, File: &config.FileConfig{Dir: out},
			Delivery: config.DeliveryConfig{RetryInitial: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, BreakerCooldown: time.Second}}}}
	r := startGateway(t, cfg)
	takeDown(t, out)
	pub := gwtest.NewPublisher(t, r.broker.URL, "full")
	for i := 0; i < 150; i++ { // ~150 KiB into 64 KiB
		raw, id := pub.Event(900)
		pub.PublishOne(t, raw, id)
	}
	testkit.Eventually(t, 30*time.Second, "the buffer to refuse messages", func() bool {
		return testutil.ToFloat64(r.g.Metrics.Received.WithLabelValues("rejected_full")) > 0
	})
	if code, _ := get(t, "http://"+r.g.HTTPAddr()+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d with a full buffer, want 503", code)
	}
	if dropped := testutil.ToFloat64(r.g.Metrics.Dropped.WithLabelValues("local", "full")); dropped != 0 {
		t.Fatalf("reject policy dropped %v messages", dropped)
	}
	bringBack(t, out)
	testkit.Eventually(t, 90*time.Second, "every refused message to arrive after the sink is back", func() bool {
		return len(gwtest.Missing(pub.Acked(), gwtest.FileIDs(t, out))) == 0
	})
}

func TestDropOldestPolicyCountsDrops(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cfg := config.Config{DataDir: dir, Buffer: config.BufferConfig{MaxBytes: 64 << 10, SegmentBytes: 16 << 10, Policy: "drop-oldest"},
		MaxMessageBytes: 8 << 10,
		Sinks: []config.SinkConfig{{Name: "local", Type: config.TypeFile, File: &config.FileConfig{Dir: out},
			Delivery: config.DeliveryConfig{RetryInitial: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, ReplayMaxRate: -1}}}}
	r := startGateway(t, cfg)
	testkit.Eventually(t, 10*time.Second, "the probes to be delivered", func() bool {
		return r.g.Buffer.Stats().Sinks["local"].Messages == 0
	})
	takeDown(t, out)
	probes := testutil.ToFloat64(r.g.Metrics.Received.WithLabelValues("accepted"))
	pub := gwtest.NewPublisher(t, r.broker.URL, "drop")
	for i := 0; i < 150; i++ {
		raw, id := pub.Event(900)
		pub.PublishOne(t, raw, id)
	}
	testkit.Eventually(t, 30*time.Second, "150 accepted", func() bool {
		return testutil.ToFloat64(r.g.Metrics.Received.WithLabelValues("accepted")) >= probes+150
	})
	dropped := testutil.ToFloat64(r.g.Metrics.Dropped.WithLabelValues("local", "full"))
	if dropped == 0 || testutil.ToFloat64(r.g.Metrics.Received.WithLabelValues("rejected_full")) != 0 {
		t.Fatalf("drop-oldest: dropped %v, refused %v", dropped, testutil.ToFloat64(r.g.Metrics.Received.WithLabelValues("rejected_full")))
	}
	bringBack(t, out)
	testkit.Eventually(t, 30*time.Second, "the kept messages to arrive", func() bool {
		return r.g.Buffer.Stats().Sinks["local"].Messages == 0
	})
	got := gwtest.FileIDs(t, out)
	missing := gwtest.Missing(pub.Acked(), got)
	// what is missing is exactly what was dropped (the probes were delivered before), and it is the oldest
	if float64(len(missing)) != dropped {
		t.Fatalf("%d messages missing, %v counted as dropped", len(missing), dropped)
	}
	// the newest messages are the ones kept
	acked := pub.Acked()
	for _, id := range acked[len(acked)-30:] {
		if got[id] == 0 {
			t.Fatalf("%s, one of the newest messages, was dropped", id)
		}
	}
}

// takeDown makes a file sink's directory unavailable (a regular file takes its place).
func takeDown(t *testing.T, dir string) {
	t.Helper()
	if err := renameAway(dir); err != nil {
		t.Fatal(err)
	}
}

func bringBack(t *testing.T, dir string) {
	t.Helper()
	if err := restore(dir); err != nil {
		t.Fatal(err)
	}
}

func renameAway(dir string) error {
	if err := os.Rename(dir, dir+".down"); err != nil {
		return err
	}
	return os.WriteFile(dir, []byte("unavailable"), 0o600)
}

func restore(dir string) error {
	if err := os.Remove(dir); err != nil {
		return err
	}
	return os.Rename(dir+".down", dir)
}
