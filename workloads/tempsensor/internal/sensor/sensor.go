// Package sensor is tempsensor's send loop: every period it advances the model and, while
// SendData is on, queues one CloudEvent with the next sequence number, until MessageCount
// messages are out (-1 = never). Periods are scheduled against deadlines, not slept one
// after another, so a 1 ms period holds 1,000 messages/s. Reset and SendData come from
// other goroutines (the control service) and take effect at the next period.
//
// Sequence numbers come from a seqstore (durable with --state-dir), so a restarted sensor
// never reuses an id. While the store cannot persist its mark the loop sends nothing: the
// periods pass, the failure is logged, counted and reported by SequenceErr (/readyz), and
// the store is tried again with backoff.
package sensor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/pkg/seqstore"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/model"
)

// Kind is the telemetry kind in CloudEvent ids and types.
const Kind = "tempsensor"

// Clock is the time seam: tests drive it by hand.
type Clock interface {
	Now() time.Time
	// SleepUntil returns at t, or with ctx.Err() when ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// SleepUntil sleeps until t.
func (SystemClock) SleepUntil(ctx context.Context, t time.Time) error {
	return backoff.Sleep(ctx, time.Until(t))
}

// Config is what the loop needs to know.
type Config struct {
	DeviceID string
	Source   string // CloudEvent source, cloudevent.SourceFor(level, app id)
	PubSub   string
	Topic    string
	BatchID  string        // GUID of this run (CloudEvent extension batchid)
	Delay    time.Duration // period
	Count    int64         // messages per run, -1 = unlimited
	SendData bool          // initial SendData
	// Tracer, when set, records a producer span per message and puts its context in the
	// CloudEvent's traceparent, so consumers continue the trace.
	Tracer trace.Tracer
	// Seq hands out the sequence numbers (nil = in memory, from 1).
	Seq *seqstore.Lazy
}

// seqRetry paces the attempts to persist the sequence mark after a failure.
var seqRetry = backoff.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2}

// State is what the sensor reports about itself (the status method).
type State struct {
	DeviceID     string  `json:"deviceId"`
	BatchID      string  `json:"batchId"`
	Sequence     int64   `json:"sequence"` // last sequence number produced by this process (0 = none yet)
	MessageCount int64   `json:"messageCount"`
	SendData     bool    `json:"sendData"`
	Done         bool    `json:"done"`
	Temperature  float64 `json:"machineTemperature"`
	MessageDelay string  `json:"messageDelay"`
}

// Sensor runs the loop. Reset, SetSendData and State are safe from any goroutine.
type Sensor struct {
	cfg   Config
	model *model.Model
	prod  *daprpub.Producer
	clock Clock
	met   *Metrics
	log   *slog.Logger

	reset atomic.Bool
	send  atomic.Bool
	done  atomic.Bool
	sent  atomic.Int64
	temp  atomic.Uint64

	// seqErr is the sequence store's failure while it lasts (nil = working).
	seqErr atomic.Pointer[error]
	// Used by Run only: the failure streak and when to try again.
	seqAttempt int
	seqRetryAt time.Time
	seqSince   time.Time
}

// New returns a sensor; met and log may be nil.
func New(cfg Config, m *model.Model, q daprpub.Enqueuer, clock Clock, met *Metrics, log *slog.Logger) *Sensor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if met == nil {
		met = NewMetrics(nil, nil)
	}
	if cfg.Seq == nil {
		cfg.Seq = seqstore.NewLazy("")
	}
	s := &Sensor{cfg: cfg, model: m, clock: clock, met: met, log: log,
		prod: &daprpub.Producer{Queue: q, Tracer: cfg.Tracer, PubSub: cfg.PubSub, Source: cfg.Source, Kind: Kind, SpanPrefix: "tempsensor produce"}}
	s.send.Store(cfg.SendData)
	s.SetSendData(cfg.SendData) // the gauge
	s.temp.Store(math.Float64bits(m.Temperature()))
	return s
}

// Reset puts the machine temperature back to machineTempMin before the next message.
func (s *Sensor) Reset() {
	s.reset.Store(true)
	s.log.Info("reset requested: machine temperature returns to machineTempMin")
}

// SetSendData pauses (false) or resumes (true) sending; the model keeps running.
func (s *Sensor) SetSendData(on bool) {
	if s.send.Swap(on) != on {
		s.log.Info("SendData changed", "sendData", on)
	}
	v := 0.0
	if on {
		v = 1
	}
	s.met.SendData.Set(v)
}

// State is a snapshot of the sensor.
func (s *Sensor) State() State {
	return State{
		DeviceID: s.cfg.DeviceID, BatchID: s.cfg.BatchID, Sequence: s.sent.Load(), MessageCount: s.cfg.Count,
		SendData: s.send.Load(), Done: s.done.Load(), Temperature: math.Float64frombits(s.temp.Load()),
		MessageDelay: s.cfg.Delay.String(),
	}
}

// maxLag is how far behind schedule the loop catches up before it gives up the lost
// periods and starts a new schedule from now (counted).
func (s *Sensor) maxLag() time.Duration { return time.Second + s.cfg.Delay }

// SequenceErr is why no message can be sent (the sequence store fails), nil otherwise.
func (s *Sensor) SequenceErr() error {
	if err := s.seqErr.Load(); err != nil {
		return *err
	}
	return nil
}

// Run sends until MessageCount messages are queued or ctx ends. It returns nil when the
// count is reached and ctx.Err() when cancelled.
func (s *Sensor) Run(ctx context.Context) error {
	s.log.Info("sending", "deviceId", s.cfg.DeviceID, "topic", s.cfg.Topic, "batchId", s.cfg.BatchID,
		"messageDelay", s.cfg.Delay.String(), "messageCount", s.cfg.Count, "sendData", s.send.Load())
	// Open the store now, so that a state file that cannot be used shows at start, even paused.
	if st, err := s.cfg.Seq.Open(); err != nil {
		s.seqFailed(err)
	} else if st.Path() != "" {
		s.log.Info("sequence store opened", "path", st.Path(), "nextSequence", st.Peek())
	}
	next := s.clock.Now()
	var produced int64
	for s.cfg.Count < 0 || produced < s.cfg.Count {
		if s.reset.Swap(false) {
			s.model.Reset()
			s.met.Resets.Inc()
		}
		s.model.Step()
		t := s.model.Temperature()
		s.temp.Store(math.Float64bits(t))
		s.met.Temperature.Set(t)
		if s.send.Load() {
			if seq, ok := s.nextSeq(); ok {
				if err := s.publish(seq); err != nil {
					return err
				}
				produced++
				if produced == s.cfg.Count {
					break
				}
			}
		}
		next = next.Add(s.cfg.Delay)
		if lag := s.clock.Now().Sub(next); lag > s.maxLag() {
			s.log.Warn("behind schedule: skipping the lost periods", "lag", lag.String())
			s.met.Resyncs.Inc()
			next = s.clock.Now()
		}
		if err := s.clock.SleepUntil(ctx, next); err != nil {
			return err
		}
	}
	s.done.Store(true)
	s.log.Info("done sending", "messageCount", s.cfg.Count)
	return nil
}

// nextSeq returns the next sequence number, or false when the store fails (or is waiting
// to be tried again): that period sends nothing.
func (s *Sensor) nextSeq() (int64, bool) {
	if s.seqErr.Load() != nil && s.clock.Now().Before(s.seqRetryAt) {
		return 0, false
	}
	seq, err := s.cfg.Seq.Next()
	if err != nil {
		s.seqFailed(err)
		return 0, false
	}
	if s.seqErr.Swap(nil) != nil {
		s.log.Info("sequence store works again: sending resumes", "sequence", seq,
			"failedFor", s.clock.Now().Sub(s.seqSince).Round(time.Millisecond).String())
		s.seqAttempt = 0
	}
	return seq, true
}

func (s *Sensor) seqFailed(err error) {
	now := s.clock.Now()
	s.met.SequenceFailures.Inc()
	wait := seqRetry.Ceiling(s.seqAttempt)
	s.seqAttempt++
	s.seqRetryAt = now.Add(wait)
	err = fmt.Errorf("sequence store: %w", err)
	if s.seqErr.Swap(&err) == nil {
		s.seqSince = now
		s.log.Error("cannot persist the message sequence: sending stops until it can (ids must never repeat)",
			"err", err.Error(), "retryIn", wait.String())
		return
	}
	s.log.Warn("sequence store still failing: not sending", "err", err.Error(), "attempt", s.seqAttempt, "retryIn", wait.String())
}

func (s *Sensor) publish(seq int64) error {
	now := s.clock.Now()
	data, err := json.Marshal(s.model.Sample(now))
	if err != nil {
		return fmt.Errorf("sensor: encode message %d: %w", seq, err)
	}
	if _, err := s.prod.Produce(daprpub.Message{Topic: s.cfg.Topic, Writer: s.cfg.DeviceID, Sequence: seq, Time: now, Data: data,
		Extensions: map[string]any{"batchid": s.cfg.BatchID}}); err != nil {
		return fmt.Errorf("sensor: queue message %d: %w", seq, err)
	}
	s.sent.Store(seq)
	s.met.Produced.Inc()
	return nil
}
