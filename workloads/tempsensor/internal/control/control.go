// Package control is how the outside world steers tempsensor through its Dapr sidecar,
// as the IoT Edge module is steered through edgeHub: the service invocation methods
// reset, pause, resume and status, and a subscription to the control topic
// (control/tempsensor) that accepts {"command":"reset"} or an array of such commands.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dapr/go-sdk/service/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/sensor"
)

// Commands a control message or a method name may carry.
const (
	Reset  = "reset"  // machine temperature back to machineTempMin
	Pause  = "pause"  // SendData=false
	Resume = "resume" // SendData=true
	Status = "status" // method only: report the state
)

// Sensor is what the commands act on; *sensor.Sensor is one.
type Sensor interface {
	Reset()
	SetSendData(on bool)
	State() sensor.State
}

// Config names the control subscription.
type Config struct {
	PubSub string // Dapr pub/sub component
	Topic  string // control topic
}

// Service registers the handlers and counts the commands.
type Service struct {
	s        Sensor
	log      *slog.Logger
	commands *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

// New returns the control service of s; reg and log may be nil.
func New(s Sensor, reg prometheus.Registerer, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Service{
		s:   s,
		log: log,
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeframe_tempsensor_control_commands_total",
			Help: "Control commands applied, by command and path (invoke or topic)."}, []string{"command", "via"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeframe_tempsensor_control_rejected_total",
			Help: "Control messages or calls rejected as invalid, by path."}, []string{"via"}),
	}
	if reg != nil {
		reg.MustRegister(c.commands, c.rejected)
	}
	return c
}

// Register adds the methods and the control subscription to a Dapr service.
func (c *Service) Register(svc common.Service, cfg Config) error {
	var errs []error
	for _, m := range []string{Reset, Pause, Resume, Status} {
		errs = append(errs, svc.AddServiceInvocationHandler(m, c.invokeHandler(m)))
	}
	errs = append(errs, svc.AddTopicEventHandler(&common.Subscription{PubsubName: cfg.PubSub, Topic: cfg.Topic}, c.HandleTopicEvent))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("control: register handlers: %w", err)
	}
	return nil
}

func (c *Service) invokeHandler(method string) common.ServiceInvocationHandler {
	return func(_ context.Context, _ *common.InvocationEvent) (*common.Content, error) {
		if method != Status {
			c.apply([]string{method}, "invoke")
		}
		b, err := json.Marshal(c.s.State())
		if err != nil {
			return nil, fmt.Errorf("control: encode state: %w", err)
		}
		return &common.Content{Data: b, ContentType: "application/json"}, nil
	}
}

// HandleTopicEvent applies a control message. An invalid message is dropped (not
// retried: it would never become valid), logged and counted.
func (c *Service) HandleTopicEvent(_ context.Context, e *common.TopicEvent) (retry bool, err error) {
	cmds, err := Parse(e.RawData)
	if err != nil {
		c.rejected.WithLabelValues("topic").Inc()
		c.log.Warn("invalid control message dropped", "id", e.ID, "topic", e.Topic, "err", err)
		return false, err
	}
	c.log.Info("control message", "id", e.ID, "commands", cmds)
	c.apply(cmds, "topic")
	return false, nil
}

func (c *Service) apply(cmds []string, via string) {
	for _, cmd := range cmds {
		switch cmd {
		case Reset:
			c.s.Reset()
		case Pause:
			c.s.SetSendData(false)
		case Resume:
			c.s.SetSendData(true)
		}
		c.commands.WithLabelValues(cmd, via).Inc()
	}
}

type message struct {
	Command *string `json:"command"`
}

// Parse reads a control message: {"command":"reset"} or an array of such objects
// (the IoT Edge module's form); command names are case-insensitive. A message that
// arrives as a JSON string holding that JSON is accepted too. Every problem is reported,
// each naming its element.
func Parse(b []byte) ([]string, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err == nil {
			b = bytes.TrimSpace([]byte(s))
		}
	}
	var msgs []message
	switch {
	case len(b) == 0:
		return nil, errors.New("control message: empty")
	case b[0] == '[':
		if err := json.Unmarshal(b, &msgs); err != nil {
			return nil, fmt.Errorf("control message: want an array of {\"command\":...} objects: %w", err)
		}
		if len(msgs) == 0 {
			return nil, errors.New("control message: empty array")
		}
	case b[0] == '{':
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("control message: want {\"command\":...}: %w", err)
		}
		msgs = []message{m}
	default:
		return nil, fmt.Errorf("control message: want {\"command\":...} or an array of them, got %.40q", b)
	}
	var (
		cmds []string
		errs []error
	)
	for i, m := range msgs {
		field := "command"
		if b[0] == '[' {
			field = fmt.Sprintf("[%d].command", i)
		}
		if m.Command == nil {
			errs = append(errs, fmt.Errorf("control message %s: required", field))
			continue
		}
		switch cmd := strings.ToLower(strings.TrimSpace(*m.Command)); cmd {
		case Reset, Pause, Resume:
			cmds = append(cmds, cmd)
		default:
			errs = append(errs, fmt.Errorf("control message %s: unknown command %q (want reset, pause or resume)", field, *m.Command))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cmds, nil
}
