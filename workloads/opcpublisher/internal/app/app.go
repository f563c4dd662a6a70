// Package app wires opcpublisher together: configuration, the publishednodes.json
// watcher, the publishing engine and its bounded send queue to the Dapr sidecar, and the
// health/metrics server.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/pkg/version"
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/config"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/pnjson"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/publisher"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/session"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/watch"
)

// Run runs opcpublisher until ctx ends. Logs go to stdout, usage to stderr.
func Run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cfg, ok, err := workload.Load(config.Load, args, lookup, stderr)
	if !ok {
		return err
	}
	obs, err := observe.Start(ctx, stdout, observe.Resource{Service: config.AppID, Layer: cfg.Level, Region: cfg.Region, Cluster: cfg.Cluster}, cfg.LogLevel)
	if err != nil {
		return err
	}
	defer obs.Stop()
	log, reg, tel := obs.Log, obs.Registry, obs.Telemetry
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}

	side := &daprpub.Lazy{Addr: cfg.DaprGRPC}
	defer side.Close()
	var q *daprpub.Queue
	met := publisher.NewMetrics(reg, func() int { return q.Len() })
	q = daprpub.NewQueue(side, daprpub.QueueConfig{Capacity: cfg.QueueCapacity, Hooks: met.Hooks(), Logger: log,
		Backoff: backoff.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2}})

	if cfg.StateDir == "" {
		log.Warn("no --state-dir: message sequences start at 1 in every process, so message ids repeat after a restart and consumers that deduplicate by id drop the new messages")
	}
	pub := publisher.New(publisher.Options{
		MessagingMode: cfg.MessagingMode, Strict: cfg.Strict, BatchSize: cfg.BatchSize, BatchInterval: cfg.BatchInterval(),
		MaxMessageBytes: cfg.MaxMessageSize,
		KeyFrameCount:   cfg.KeyFrameCount, KeepAlive: cfg.KeepAlive, PubSub: cfg.PubSub, TopicTemplate: cfg.TopicTemplate,
		Level: cfg.Level, PublisherID: cfg.PublisherID, PKIDir: cfg.PKIDir, StateDir: cfg.StateDir,
		Session: session.Config{
			Reconnect:  backoff.Policy{Initial: 250 * time.Millisecond, Max: cfg.ReconnectMax, Multiplier: 2},
			KeepAlive:  cfg.SessionKeepAlive,
			AutoAccept: cfg.AutoAccept,
		},
	}, q, met, tel.Tracer, log)

	var loadMu sync.Mutex
	var loadErr error
	running := 0 // valid entries of the configuration that runs
	load := func(b []byte) {
		f, err := pnjson.Parse(b)
		for _, w := range f.Warnings {
			log.Warn(w)
		}
		if err != nil {
			var n int
			for _, e := range unjoin(err) {
				log.Error("publishednodes.json problem", "err", e.Error())
				n++
			}
			met.ConfigErrors.Add(float64(n))
		}
		// A broken file (not JSON, truncated mid-write, every entry invalid) does not
		// stop what runs: the last good configuration keeps publishing, as in OPC
		// Publisher, until a file with a valid entry (or a deliberately empty `[]`)
		// arrives. A file with some valid entries is applied: its invalid entries
		// stop, each reported above.
		if err != nil && len(f.Entries) == 0 && running > 0 {
			met.ConfigStale.Set(1)
			log.Error("publishednodes.json has no valid entry; the last good configuration keeps running",
				"path", cfg.PublishedNodesFile, "runningEntries", running)
			return
		}
		met.ConfigStale.Set(0)
		running = len(f.Entries)
		loadMu.Lock()
		loadErr = nil
		if len(f.Entries) == 0 {
			loadErr = fmt.Errorf("%s has no valid entry", cfg.PublishedNodesFile)
		}
		loadMu.Unlock()
		log.Info("publishednodes.json applied", "path", cfg.PublishedNodesFile, "validEntries", len(f.Entries), "warnings", len(f.Warnings))
		pub.Apply(f)
	}
	ready := func() error {
		loadMu.Lock()
		err := loadErr
		loadMu.Unlock()
		return errors.Join(err, pub.Ready())
	}
	web, err := observe.NewServer(cfg.HTTP, reg, ready)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	w := &watch.Watcher{Path: cfg.PublishedNodesFile, OnChange: load, Log: log,
		OnError: func(err error) { log.Warn("publishednodes.json", "err", err.Error()) }}
	log.Info("opcpublisher starting", "version", version.Version, "pf", cfg.PublishedNodesFile, "mm", cfg.MessagingMode,
		"strict", cfg.Strict, "http", web.Addr(), "pubsub", cfg.PubSub, "topicTemplate", cfg.TopicTemplate, "stateDir", cfg.StateDir)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	// The file is read before anything runs: a missing file is a startup error.
	watchStarted := make(chan error, 1)
	wg.Add(3)
	go func() {
		defer wg.Done()
		err := w.Run(ctx)
		select {
		case watchStarted <- err:
		default:
		}
		if err != nil {
			errc <- fmt.Errorf("--pf: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := web.Run(ctx); err != nil {
			errc <- fmt.Errorf("--http %s: %w", cfg.HTTP, err)
		}
	}()
	go func() {
		defer wg.Done()
		_ = pub.Run(ctx)
	}()
	sending := q.Start()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	wg.Wait() // sessions stopped, batches flushed into the queue
	sending.Stop(daprpub.ShutdownGrace)
	log.Info("opcpublisher stopped")
	return runErr
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
