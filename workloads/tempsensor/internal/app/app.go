// Package app wires tempsensor together: configuration, the model, the send loop and its
// queue to the Dapr sidecar, the control service Dapr calls, and the health/metrics server.
package app

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	daprgrpc "github.com/dapr/go-sdk/service/grpc"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/pkg/seqstore"
	"github.com/edgeframe/edgeframe/pkg/version"
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/config"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/control"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/model"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/sensor"
)

// Run runs tempsensor until ctx ends (or, with --exit-when-done, until MessageCount
// messages are published). Logs go to stdout, usage to stderr.
func Run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cfg, ok, err := workload.Load(config.Load, args, lookup, stderr)
	if !ok {
		return err
	}
	obs, err := observe.Start(ctx, stdout, observe.Resource{Service: config.AppID, Layer: cfg.Level}, cfg.LogLevel)
	if err != nil {
		return err
	}
	defer obs.Stop()
	log, reg, tel := obs.Log, obs.Registry, obs.Telemetry
	// The Dapr SDK prints plain lines on stdout; make them debug records of our JSON log.
	dapr.SetLogger(slog.NewLogLogger(log.Handler(), slog.LevelDebug))

	side := &daprpub.Lazy{Addr: cfg.DaprGRPC}
	defer side.Close()
	var q *daprpub.Queue
	met := sensor.NewMetrics(reg, func() int { return q.Len() })
	health := &publishHealth{}
	q = daprpub.NewQueue(side, daprpub.QueueConfig{Capacity: cfg.QueueSize, MaxBatch: cfg.PublishBatch, InFlight: cfg.PublishCalls, Hooks: health.wrap(met.Hooks()), Logger: log})

	batchID, err := newBatchID()
	if err != nil {
		return err
	}
	if cfg.StateDir == "" {
		log.Warn("no --state-dir: the message sequence starts at 1 in every process, so message ids repeat after a restart and consumers that deduplicate by id drop the new messages",
			"deviceId", cfg.DeviceID)
	}
	seq := seqstore.NewLazy(cfg.SequenceFile())
	s := sensor.New(sensor.Config{
		DeviceID: cfg.DeviceID, Source: cloudevent.SourceFor(cfg.Level, config.AppID), PubSub: cfg.PubSub, Topic: cfg.Topic,
		BatchID: batchID, Delay: cfg.Delay(), Count: cfg.MessageCount, SendData: cfg.SendData,
		Tracer: tel.Tracer.Tracer("github.com/edgeframe/edgeframe/workloads/tempsensor"),
		Seq:    seq,
	}, model.New(cfg.Model, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))), q, sensor.SystemClock{}, met, log)

	lis, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.AppPort)))
	if err != nil {
		return fmt.Errorf("--app-port %d: %w", cfg.AppPort, err)
	}
	svc := daprgrpc.NewServiceWithListener(lis)
	if err := control.New(s, reg, log).Register(svc, control.Config{PubSub: cfg.PubSub, Topic: cfg.ControlTopic}); err != nil {
		lis.Close()
		return err
	}
	web, err := observe.NewServer(cfg.HTTP, reg, func() error { return errors.Join(health.ready(), s.SequenceErr()) })
	if err != nil {
		lis.Close()
		return fmt.Errorf("--http: %w", err)
	}
	if cfg.Pprof {
		web.ServePprof()
	}
	web.Mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.State())
	})
	log.Info("tempsensor starting", "version", version.Version, "appPort", cfg.AppPort, "http", web.Addr(),
		"pubsub", cfg.PubSub, "controlTopic", cfg.ControlTopic, "stateDir", cfg.StateDir)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := svc.Start(); err != nil {
			errc <- fmt.Errorf("the Dapr app service on --app-port %d: %w", cfg.AppPort, err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := web.Run(ctx); err != nil {
			errc <- fmt.Errorf("--http %s: %w", cfg.HTTP, err)
		}
	}()
	// The queue outlives ctx by up to daprpub.ShutdownGrace, so what is queued at shutdown still goes out.
	sending := q.Start()
	sent := make(chan error, 1)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		sent <- s.Run(ctx)
	}()

	runErr := supervise(ctx, sent, errc, sending.Drained(), q.Close, cfg.ExitWhenDone)
	if runErr == nil && cfg.ExitWhenDone && s.State().Done {
		log.Info("all messages published, exiting", "messageCount", cfg.MessageCount)
	}
	cancel()
	// The loop has stopped taking sequences: record the exact next one, so the next start
	// continues without a gap.
	<-loopDone
	if err := seq.Close(); err != nil {
		log.Warn("sequence store: the exact next sequence was not recorded; the next start skips to the reserved mark", "err", err.Error())
	}
	sending.Stop(daprpub.ShutdownGrace)
	if err := svc.GracefulStop(); err != nil {
		log.Warn("Dapr app service stop", "err", err)
	}
	wg.Wait()
	log.Info("tempsensor stopped", "sequence", s.State().Sequence, "queued", q.Len())
	return runErr
}

// supervise waits until tempsensor should stop: ctx ends, a server fails, the loop fails,
// or — with exitWhenDone — the loop has finished and the queue has drained. When the loop
// finishes, closeQueue lets the queue drain and stop.
func supervise(ctx context.Context, sent, errc <-chan error, drained <-chan struct{}, closeQueue func(), exitWhenDone bool) error {
	select {
	case err := <-sent:
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		if err == nil {
			closeQueue()
			if exitWhenDone {
				select {
				case <-drained:
					return nil
				case <-ctx.Done():
					return nil
				case err := <-errc:
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		}
	case err := <-errc:
		return err
	}
}

// publishHealth makes /readyz fail while publishing to the sidecar fails.
type publishHealth struct {
	failing atomic.Pointer[string]
}

func (h *publishHealth) wrap(hooks daprpub.Hooks) daprpub.Hooks {
	sent, retried := hooks.Sent, hooks.Retried
	hooks.Sent = func(it daprpub.Item, d time.Duration) {
		h.failing.Store(nil)
		sent(it, d)
	}
	hooks.Retried = func(it daprpub.Item, attempt int, err error) {
		msg := fmt.Sprintf("publishing to the Dapr sidecar fails (attempt %d): %v", attempt, err)
		h.failing.Store(&msg)
		retried(it, attempt, err)
	}
	return hooks
}

func (h *publishHealth) ready() error {
	if msg := h.failing.Load(); msg != nil {
		return errors.New(*msg)
	}
	return nil
}

// newBatchID is a random (version 4) GUID, the IoT Edge module's batchId.
func newBatchID() (string, error) {
	var b [16]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		return "", fmt.Errorf("batch id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
