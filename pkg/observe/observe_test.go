package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeframe/edgeframe/pkg/observe"
)

func TestLoggerWritesJSONWithAppAndLayer(t *testing.T) {
	var buf bytes.Buffer
	observe.NewLogger(&buf, "tempsensor", "l2", slog.LevelInfo).Info("hello", "n", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %q", buf.String())
	}
	if rec["app"] != "tempsensor" || rec["edge.layer"] != "l2" || rec["msg"] != "hello" {
		t.Errorf("record %v", rec)
	}
}

// runServer serves reg and ready on a loopback port until the test ends.
func runServer(t *testing.T, reg *prometheus.Registry, ready func() error) *observe.Server {
	t.Helper()
	s, err := observe.NewServer("127.0.0.1:0", reg, ready)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func TestServerHealthReadyMetrics(t *testing.T) {
	reg := observe.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_test_things_total"})
	reg.MustRegister(c)
	c.Add(3)
	var notReady atomic.Bool
	notReady.Store(true)
	s := runServer(t, reg, func() error {
		if notReady.Load() {
			return errors.New("buffer closed")
		}
		return nil
	})
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "buffer closed") {
		t.Errorf("readyz while not ready: %d %q", code, body)
	}
	notReady.Store(false)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz when ready: %d", code)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "edgeframe_test_things_total 3") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics missing: %.300s", body)
	}
}

// A scraper that asks for gzip (Prometheus does) gets the page uncompressed: compressing
// allocates a ~1 MiB flate writer per scrape in processes whose live heap is a few MiB.
func TestMetricsAreNotCompressed(t *testing.T) {
	s := runServer(t, observe.NewRegistry(), nil)
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if enc := resp.Header.Get("Content-Encoding"); enc != "" {
		t.Errorf("Content-Encoding %q, want none", enc)
	}
	if !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("metrics page: %.200q", body)
	}
}

func TestSetupWithoutEndpointExportsNothing(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	tel, err := observe.Setup(context.Background(), observe.Resource{Service: "x", Layer: "l4"}, observe.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if tel.Exporting {
		t.Error("exporting without an endpoint")
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestStartLogsAtTheLevelWithAppAndLayer(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	var buf bytes.Buffer
	p, err := observe.Start(context.Background(), &buf, observe.Resource{Service: "opcpublisher", Layer: "l2"}, "warn")
	if err != nil {
		t.Fatal(err)
	}
	p.Log.Info("dropped: below warn")
	p.Log.Warn("kept")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("want exactly the warn record as JSON, got %q", buf.String())
	}
	if rec["app"] != "opcpublisher" || rec["edge.layer"] != "l2" || rec["msg"] != "kept" {
		t.Errorf("record %v", rec)
	}
	mfs, err := p.Registry.Gather()
	if err != nil || len(mfs) == 0 {
		t.Fatalf("registry without the Go and process collectors: %d families, %v", len(mfs), err)
	}
	if p.Tracer == nil || p.Exporting {
		t.Errorf("telemetry %+v", p.Telemetry)
	}
	p.Stop()
}
