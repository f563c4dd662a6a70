// Package config is tempsensor's configuration: flags, their EDGEFRAME_TEMPSENSOR_*
// variables, the IoT Edge SimulatedTemperatureSensor's own names (MessageDelay,
// MessageCount, machineTempMin, …, as flags and as plain variables), and one Validate
// that reports every problem at once.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeframe/edgeframe/pkg/flagenv"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/model"
)

// AppID is tempsensor's Dapr app id.
const AppID = "tempsensor"

// MinDelay is the shortest message period accepted (10,000 messages/s).
const MinDelay = 100 * time.Microsecond

// Config is everything tempsensor reads at start.
type Config struct {
	// MessageDelay is the period between messages (IoT Edge MessageDelay, default 5 s).
	MessageDelay time.Duration
	// Rate, when > 0, sets the period to 1/Rate seconds instead of MessageDelay.
	Rate float64
	// MessageCount is how many messages a run sends (IoT Edge MessageCount, 500; -1 = unlimited).
	MessageCount int64
	// SendData false starts paused (IoT Edge SendData).
	SendData bool
	Model    model.Params

	DeviceID     string // device id: topic and CloudEvent id segment
	Topic        string // telemetry topic (default telemetry/tempsensor/<DeviceID>)
	ControlTopic string // control topic (default control/tempsensor)
	PubSub       string // Dapr pub/sub component (edge-pubsub)
	Level        string // l2, l3 or l4: CloudEvent source and edge.layer
	AppPort      int    // gRPC port Dapr calls (service invocation, subscriptions)
	DaprGRPC     string // sidecar gRPC address ("" = DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT / 127.0.0.1:50001)
	HTTP         string // address of /healthz, /readyz, /metrics
	Pprof        bool   // serve net/http/pprof on HTTP
	QueueSize    int    // send queue capacity; the oldest message is dropped (counted) beyond it
	PublishBatch int    // most queued messages per sidecar call (Dapr bulk publish); 1 = one at a time, in order
	PublishCalls int    // sidecar calls in flight at once; 1 = each waits for the previous one's broker acknowledgement
	ExitWhenDone bool   // exit once MessageCount messages are published
	LogLevel     string // debug, info, warn, error
	// StateDir holds the sequence state file seq-<DeviceID>, so ids never repeat across
	// restarts; "" keeps the sequence in memory (it starts at 1 in every process).
	StateDir string

	// rateAndDelay records that both Rate and MessageDelay were given.
	rateAndDelay bool
}

// Default is the configuration without flags or variables.
func Default() Config {
	return Config{
		MessageDelay: 5 * time.Second,
		MessageCount: 500,
		SendData:     true,
		Model:        model.DefaultParams(),
		DeviceID:     "sensor-1",
		ControlTopic: "control/" + AppID,
		PubSub:       "edge-pubsub",
		Level:        "l2",
		AppPort:      6001,
		HTTP:         ":8080",
		QueueSize:    4096,
		PublishBatch: 100,
		PublishCalls: 4,
		LogLevel:     "info",
	}
}

// iotEdgeNames are the IoT Edge module's names, accepted as flags (aliases) and as
// plain environment variables, mapped to our flag names.
var iotEdgeNames = map[string]string{
	"message-delay":        "MessageDelay",
	"message-count":        "MessageCount",
	"send-data":            "SendData",
	"machine-temp-min":     "machineTempMin",
	"machine-temp-max":     "machineTempMax",
	"machine-pressure-min": "machinePressureMin",
	"machine-pressure-max": "machinePressureMax",
	"ambient-temp":         "ambientTemp",
	"ambient-humidity":     "ambientHumidity",
}

// FlagSet returns the flag set that fills c (starting from c's values).
func FlagSet(c *Config, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(AppID, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Var(delayValue{&c.MessageDelay}, "message-delay", "period between messages: Go duration (5s) or TimeSpan (00:00:05)")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "messages per second; when > 0 it sets the period instead of --message-delay")
	fs.Int64Var(&c.MessageCount, "message-count", c.MessageCount, "messages per run, -1 = unlimited")
	fs.BoolVar(&c.SendData, "send-data", c.SendData, "send messages (false starts paused; resume with the resume command)")
	fs.Float64Var(&c.Model.MachineTempMin, "machine-temp-min", c.Model.MachineTempMin, "machine temperature at start and after reset, °C")
	fs.Float64Var(&c.Model.MachineTempMax, "machine-temp-max", c.Model.MachineTempMax, "machine temperature where the walk turns into jitter, °C")
	fs.Float64Var(&c.Model.MachinePressureMin, "machine-pressure-min", c.Model.MachinePressureMin, "pressure at machine-temp-min, psi")
	fs.Float64Var(&c.Model.MachinePressureMax, "machine-pressure-max", c.Model.MachinePressureMax, "pressure at machine-temp-max, psi")
	fs.Float64Var(&c.Model.AmbientTemp, "ambient-temp", c.Model.AmbientTemp, "ambient temperature (±0.5), °C")
	fs.IntVar(&c.Model.AmbientHumidity, "ambient-humidity", c.Model.AmbientHumidity, "ambient humidity (±1), %")
	fs.StringVar(&c.DeviceID, "device-id", c.DeviceID, "device id (topic segment and CloudEvent id)")
	fs.StringVar(&c.Topic, "topic", c.Topic, "telemetry topic (default telemetry/tempsensor/<device-id>)")
	fs.StringVar(&c.ControlTopic, "control-topic", c.ControlTopic, "control topic the sensor subscribes to")
	fs.StringVar(&c.PubSub, "pubsub", c.PubSub, "Dapr pub/sub component")
	fs.StringVar(&c.Level, "level", c.Level, "ISA-95 level: l2, l3 or l4")
	fs.IntVar(&c.AppPort, "app-port", c.AppPort, "gRPC port the Dapr sidecar calls")
	fs.StringVar(&c.DaprGRPC, "dapr-grpc", c.DaprGRPC, "Dapr sidecar gRPC address (default from DAPR_GRPC_ENDPOINT or DAPR_GRPC_PORT)")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "address of /healthz, /readyz and /metrics")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "serve net/http/pprof under /debug/pprof/ on --http")
	fs.IntVar(&c.QueueSize, "queue-size", c.QueueSize, "send queue capacity (oldest dropped and counted beyond it)")
	fs.IntVar(&c.PublishBatch, "publish-batch", c.PublishBatch, "most queued messages per sidecar call (Dapr bulk publish, unordered within a call); 1 = one at a time")
	fs.IntVar(&c.PublishCalls, "publish-calls", c.PublishCalls, "sidecar calls in flight at once (messages may reach the broker out of order); 1 = strictly in order")
	fs.BoolVar(&c.ExitWhenDone, "exit-when-done", c.ExitWhenDone, "exit once --message-count messages are published")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.StateDir, "state-dir", c.StateDir, "directory of the sequence state file seq-<device-id> (message ids never repeat across restarts); empty = in memory, ids repeat after a restart")
	for name, alias := range iotEdgeNames {
		f := fs.Lookup(name)
		fs.Var(f.Value, alias, "IoT Edge name of --"+name)
	}
	return fs
}

// Load parses args, then EDGEFRAME_TEMPSENSOR_<FLAG> variables, then the IoT Edge
// variable names, and validates the result. flag.ErrHelp is returned as is.
func Load(args []string, lookup func(string) (string, bool), out io.Writer) (Config, error) {
	c := Default()
	fs := FlagSet(&c, out)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	errs = append(errs, flagenv.Apply(fs, AppID, lookup), flagenv.ApplyNames(fs, iotEdgeNames, lookup))
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.rateAndDelay = set["rate"] && (set["message-delay"] || set["MessageDelay"])
	if c.Topic == "" {
		c.Topic = "telemetry/" + AppID + "/" + c.DeviceID
	}
	errs = append(errs, c.Validate())
	return c, errors.Join(errs...)
}

// SequenceFile is the sequence state file, "" without StateDir.
func (c Config) SequenceFile() string {
	if c.StateDir == "" {
		return ""
	}
	return filepath.Join(c.StateDir, "seq-"+c.DeviceID)
}

// Delay is the message period: 1/Rate when Rate is set, else MessageDelay.
func (c Config) Delay() time.Duration {
	if c.Rate > 0 {
		return time.Duration(float64(time.Second) / c.Rate)
	}
	return c.MessageDelay
}

// Validate reports every problem at once, each naming its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, a...)))
	}
	if c.rateAndDelay {
		bad("rate", "set either --rate or --message-delay (MessageDelay), not both")
	}
	if math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0 {
		bad("rate", "must be >= 0 messages per second, got %g", c.Rate)
	} else if c.Rate > 0 && c.Delay() < MinDelay {
		bad("rate", "%g messages per second is above the maximum %g", c.Rate, float64(time.Second/MinDelay))
	}
	if c.Rate == 0 && c.MessageDelay < MinDelay {
		bad("message-delay", "must be at least %s, got %s", MinDelay, c.MessageDelay)
	}
	if c.MessageCount < -1 {
		bad("message-count", "must be -1 (unlimited) or >= 0, got %d", c.MessageCount)
	}
	if err := c.Model.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.DeviceID == "" {
		bad("device-id", "required")
	} else if strings.ContainsAny(c.DeviceID, "/+#$ \t\n") {
		bad("device-id", "%q must be one topic segment (no '/', '+', '#', '$' or spaces)", c.DeviceID)
	}
	for flag, topic := range map[string]string{"topic": c.Topic, "control-topic": c.ControlTopic} {
		if topic == "" {
			bad(flag, "required")
		} else if strings.ContainsAny(topic, "+# \t\n") {
			bad(flag, "%q must not contain wildcards or spaces", topic)
		}
	}
	if c.PubSub == "" {
		bad("pubsub", "required")
	}
	if c.Level != "l2" && c.Level != "l3" && c.Level != "l4" {
		bad("level", "must be l2, l3 or l4, got %q", c.Level)
	}
	if c.AppPort < 1 || c.AppPort > 65535 {
		bad("app-port", "must be 1..65535, got %d", c.AppPort)
	}
	if c.DaprGRPC != "" {
		if _, _, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(c.DaprGRPC, "http://"), "https://")); err != nil {
			bad("dapr-grpc", "%q is not host:port: %v", c.DaprGRPC, err)
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
		bad("http", "%q is not host:port: %v", c.HTTP, err)
	}
	if c.QueueSize < 1 {
		bad("queue-size", "must be >= 1, got %d", c.QueueSize)
	}
	if c.PublishCalls < 1 || c.PublishCalls > 64 {
		bad("publish-calls", "must be 1..64, got %d", c.PublishCalls)
	}
	if c.PublishBatch < 1 || c.PublishBatch > 1000 {
		bad("publish-batch", "must be 1..1000, got %d", c.PublishBatch)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return errors.Join(errs...)
}
