// Package gateway assembles the datagateway from its configuration: the buffer, the
// sinks with one drainer each, the dead-letter store, the Dapr gRPC app and the
// health/metrics server, and runs them until the context ends.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/config"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/deliver"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/ingest"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/metrics"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/sink"
)

// Options are the process-level settings around the configuration.
type Options struct {
	// AppAddr is where the Dapr gRPC app listens (":6001").
	AppAddr string
	// HTTPAddr serves /healthz, /readyz and /metrics (":8080").
	HTTPAddr string
	Logger   *slog.Logger
	Tracer   trace.TracerProvider
	Registry *prometheus.Registry
	// Pprof serves net/http/pprof under /debug/pprof/ on the HTTP address.
	Pprof bool
	// Sinks, when set, replaces building sinks from the configuration (tests wrap real
	// sinks to take them offline). Keys are sink names.
	Sinks map[string]sink.Sink
}

// Gateway is the assembled process.
type Gateway struct {
	cfg      config.Config
	o        Options
	log      *slog.Logger
	Buffer   *buffer.Buffer
	Metrics  *metrics.Metrics
	dl       *sink.DeadLetters
	sinks    []sink.Sink
	drainers []*deliver.Drainer
	app      *ingest.Service
	appLis   net.Listener
	http     *observe.Server
}

// New validates cfg and builds everything; nothing runs until Run.
func New(cfg config.Config, o Options) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = observe.NewRegistry()
	}
	g := &Gateway{cfg: cfg, o: o, log: o.Logger}
	g.Metrics = metrics.New(o.Registry)
	names := make([]string, len(cfg.Sinks))
	for i, s := range cfg.Sinks {
		names[i] = s.Name
	}
	var err error
	g.Buffer, err = buffer.Open(buffer.Options{
		Dir: cfg.Buffer.Dir, MaxBytes: int64(cfg.Buffer.MaxBytes), MaxAge: cfg.Buffer.MaxAge,
		SegmentBytes: int64(cfg.Buffer.SegmentBytes), Policy: buffer.Policy(cfg.Buffer.Policy),
		CommitInterval: cfg.Buffer.CommitInterval, CommitBytes: int(cfg.Buffer.CommitBytes),
		Sinks:  names,
		Logger: o.Logger,
		OnDrop: func(s string, n uint64, reason string) { g.Metrics.Dropped.WithLabelValues(s, reason).Add(float64(n)) },
		OnCommit: func(records int, took time.Duration) {
			g.Metrics.Commit.Observe(took.Seconds())
			g.Metrics.CommitRecords.Observe(float64(records))
		},
	})
	if err != nil {
		return nil, err
	}
	o.Registry.MustRegister(metrics.NewBufferCollector(g.Buffer))
	g.dl, err = sink.NewDeadLetters(cfg.DeadLetter.Dir, int64(cfg.DeadLetter.MaxFileBytes), nil)
	if err != nil {
		g.Buffer.Close()
		return nil, err
	}
	for _, sc := range cfg.Sinks {
		s, ok := o.Sinks[sc.Name]
		if !ok {
			if s, err = Build(sc); err != nil {
				g.closeSinks()
				g.Buffer.Close()
				return nil, err
			}
		}
		g.sinks = append(g.sinks, s)
		d := sc.Delivery
		g.drainers = append(g.drainers, deliver.New(g.Buffer, s, g.dl, deliver.Options{
			BatchMessages: d.BatchMessages, BatchBytes: int(d.BatchBytes), Linger: d.Linger,
			Retry:           backoff.Policy{Initial: d.RetryInitial, Max: d.RetryMax, Multiplier: 2},
			BreakerFailures: d.BreakerFailures, BreakerCooldown: d.BreakerCooldown,
			ReplayMaxRate: max(d.ReplayMaxRate, 0), ReplayThreshold: uint64(d.ReplayThreshold),
		}, g.Metrics, o.Logger, o.Tracer))
	}
	h := &ingest.Handler{Buffer: g.Buffer, DeadLetter: g.dl, MaxMessageBytes: int(cfg.MaxMessageBytes), Metrics: g.Metrics, Logger: o.Logger, Tracer: o.Tracer}
	if g.appLis, err = net.Listen("tcp", o.AppAddr); err != nil {
		g.closeSinks()
		g.Buffer.Close()
		return nil, fmt.Errorf("app listener %s: %w", o.AppAddr, err)
	}
	if g.app, err = ingest.NewService(g.appLis, ingest.ServiceOptions{PubSub: cfg.PubSub, Topics: cfg.Topics, BulkMaxMessages: cfg.Bulk.MaxMessages, BulkMaxAwait: cfg.Bulk.MaxAwait}, h); err != nil {
		g.appLis.Close()
		g.closeSinks()
		g.Buffer.Close()
		return nil, err
	}
	if g.http, err = observe.NewServer(o.HTTPAddr, o.Registry, g.Buffer.Ready); err != nil {
		g.appLis.Close()
		g.closeSinks()
		g.Buffer.Close()
		return nil, err
	}
	if o.Pprof {
		g.http.ServePprof()
	}
	return g, nil
}

// Build creates the sink a configuration block describes.
func Build(sc config.SinkConfig) (sink.Sink, error) {
	switch sc.Type {
	case config.TypeFile:
		return sink.NewFile(sc.Name, sink.FileOptions{Dir: sc.File.Dir, MaxFileBytes: int64(sc.File.MaxFileBytes), MaxFileAge: sc.File.MaxFileAge, NoSync: sc.File.NoSync})
	case config.TypeKafka, config.TypeEventHubs:
		k := sc.Kafka
		return sink.NewKafka(sc.Name, sink.KafkaOptions{
			Brokers: k.Brokers, Topic: k.Topic, Auth: k.Auth, Username: k.Username, Password: k.Password,
			ConnectionString: k.ConnectionString, TLS: *k.TLS, Compression: k.Compression, Linger: k.Linger,
			MaxBatchBytes: int32(k.MaxBatchBytes), MaxRecordBytes: int(k.MaxRecordBytes), Timeout: k.Timeout,
		})
	case config.TypeBlob:
		b := sc.Blob
		return sink.NewBlob(sc.Name, sink.BlobOptions{
			ConnectionString: b.ConnectionString, AccountURL: b.AccountURL, Container: b.Container,
			PathTemplate: b.PathTemplate, Gzip: b.Gzip, CreateContainer: *b.CreateContainer, Timeout: b.Timeout,
		})
	}
	return nil, fmt.Errorf("sink %s: unknown type %q", sc.Name, sc.Type)
}

// AppAddr is the address the Dapr app listens on.
func (g *Gateway) AppAddr() string { return g.appLis.Addr().String() }

// HTTPAddr is the address of /healthz, /readyz and /metrics.
func (g *Gateway) HTTPAddr() string { return g.http.Addr() }

// Run serves until ctx ends, then stops taking messages, lets the drainers finish their
// current batch, and closes the buffer (saving the cursors).
func (g *Gateway) Run(ctx context.Context) error {
	dctx, stopDrain := context.WithCancel(context.Background())
	defer stopDrain()
	var wg sync.WaitGroup
	for _, d := range g.drainers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Run(dctx); err != nil && !errors.Is(err, context.Canceled) {
				g.log.Error("drainer stopped", "drainer", d.String(), "err", err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-dctx.Done():
				return
			case <-t.C:
				g.Buffer.Expire()
				if err := g.Buffer.Flush(); err != nil {
					g.log.Error("save cursors", "err", err)
				}
			}
		}
	}()
	httpErr := make(chan error, 1)
	go func() { httpErr <- g.http.Run(ctx) }()
	appErr := make(chan error, 1)
	go func() { appErr <- g.app.Start() }()
	g.log.Info("datagateway running", "app_addr", g.AppAddr(), "http_addr", g.HTTPAddr(), "pubsub", g.cfg.PubSub, "topics", g.cfg.Topics, "sinks", len(g.sinks))
	var err error
	select {
	case <-ctx.Done():
	case err = <-appErr:
		err = fmt.Errorf("dapr app server: %w", err)
	case err = <-httpErr:
		err = fmt.Errorf("http server: %w", err)
	}
	g.app.GracefulStop()
	stopDrain()
	wg.Wait()
	g.closeSinks()
	if cerr := g.Buffer.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	_ = g.dl.Close()
	return err
}

func (g *Gateway) closeSinks() {
	for _, s := range g.sinks {
		if err := s.Close(); err != nil {
			g.log.Warn("close sink", "sink", s.Name(), "err", err)
		}
	}
}
