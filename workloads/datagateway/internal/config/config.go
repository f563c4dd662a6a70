// Package config is the gateway's configuration: one YAML file (with ${VAR} and
// ${VAR:-default} expanded from the environment), defaults for everything, flag/env
// overrides of the top-level settings, and one Validate that reports every problem.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Sink types.
const (
	TypeFile      = "file"
	TypeKafka     = "kafka"
	TypeEventHubs = "eventhubs"
	TypeBlob      = "blob"
)

// Config is the whole gateway configuration.
type Config struct {
	// PubSub is the Dapr pub/sub component to subscribe on.
	PubSub string `yaml:"pubsub"`
	// Topics to subscribe to (MQTT wildcards allowed).
	Topics []string `yaml:"topics"`
	// DataDir is the root of the default buffer, dead-letter and file-sink directories.
	DataDir string `yaml:"dataDir"`
	// MaxMessageBytes: larger pub/sub messages are dead-lettered as oversized.
	MaxMessageBytes ByteSize `yaml:"maxMessageBytes"`
	// Bulk configures Dapr bulk subscribe.
	Bulk       BulkConfig       `yaml:"bulk"`
	Buffer     BufferConfig     `yaml:"buffer"`
	DeadLetter DeadLetterConfig `yaml:"deadLetter"`
	// Sinks; when empty, one file sink "local" under <dataDir>/telemetry.
	Sinks []SinkConfig `yaml:"sinks"`
}

// BulkConfig configures Dapr bulk subscribe: daprd delivers up to MaxMessages
// messages per call, waiting at most MaxAwait to fill one, and the gateway stores each
// delivery with one buffer commit.
type BulkConfig struct {
	// MaxMessages per delivery (default 100; 1 = one message per call, no bulk).
	MaxMessages int `yaml:"maxMessages"`
	// MaxAwait is the longest daprd waits to fill a delivery (default 2ms, whole
	// milliseconds, at least 1ms).
	MaxAwait time.Duration `yaml:"maxAwait"`
}

// BufferConfig configures the durable buffer.
type BufferConfig struct {
	Dir            string        `yaml:"dir"`
	MaxBytes       ByteSize      `yaml:"maxBytes"`
	MaxAge         time.Duration `yaml:"maxAge"`
	SegmentBytes   ByteSize      `yaml:"segmentBytes"`
	Policy         string        `yaml:"policy"`
	CommitInterval time.Duration `yaml:"commitInterval"`
	CommitBytes    ByteSize      `yaml:"commitBytes"`
}

// DeadLetterConfig configures the dead-letter store.
type DeadLetterConfig struct {
	Dir          string   `yaml:"dir"`
	MaxFileBytes ByteSize `yaml:"maxFileBytes"`
}

// SinkConfig is one sink; exactly the block of its type is set.
type SinkConfig struct {
	Name     string         `yaml:"name"`
	Type     string         `yaml:"type"`
	Delivery DeliveryConfig `yaml:"delivery"`
	File     *FileConfig    `yaml:"file"`
	Kafka    *KafkaConfig   `yaml:"kafka"`
	Blob     *BlobConfig    `yaml:"blob"`
}

// DeliveryConfig tunes batching, retries, the circuit breaker and replay of one sink.
type DeliveryConfig struct {
	BatchMessages   int           `yaml:"batchMessages"`
	BatchBytes      ByteSize      `yaml:"batchBytes"`
	Linger          time.Duration `yaml:"linger"`
	RetryInitial    time.Duration `yaml:"retryInitial"`
	RetryMax        time.Duration `yaml:"retryMax"`
	BreakerFailures int           `yaml:"breakerFailures"`
	BreakerCooldown time.Duration `yaml:"breakerCooldown"`
	// ReplayMaxRate caps messages/s of a backlog replay (default 5000; negative = no
	// controlled replay: the backlog drains in order at full speed).
	ReplayMaxRate float64 `yaml:"replayMaxRate"`
	// ReplayThreshold: backlog (messages) above which a recovery becomes a capped replay.
	ReplayThreshold int `yaml:"replayThreshold"`
}

// FileConfig is the local JSON-lines sink.
type FileConfig struct {
	Dir          string        `yaml:"dir"`
	MaxFileBytes ByteSize      `yaml:"maxFileBytes"`
	MaxFileAge   time.Duration `yaml:"maxFileAge"`
	NoSync       bool          `yaml:"noSync"`
}

// KafkaConfig is the Kafka / Event Hubs sink.
type KafkaConfig struct {
	// Namespace (eventhubs): brokers default to <namespace>.servicebus.windows.net:9093.
	Namespace string   `yaml:"namespace"`
	Brokers   []string `yaml:"brokers"`
	// Topic: the event hub name for eventhubs.
	Topic string `yaml:"topic"`
	// Auth: none|plain|connection-string|oauth (eventhubs default: connection-string when
	// connectionString is set, else oauth; kafka default: none).
	Auth             string `yaml:"auth"`
	Username         string `yaml:"username"`
	Password         string `yaml:"password"`
	ConnectionString string `yaml:"connectionString"`
	// TLS (eventhubs default true, kafka default false).
	TLS            *bool         `yaml:"tls"`
	Compression    string        `yaml:"compression"`
	Linger         time.Duration `yaml:"linger"`
	MaxBatchBytes  ByteSize      `yaml:"maxBatchBytes"`
	MaxRecordBytes ByteSize      `yaml:"maxRecordBytes"`
	Timeout        time.Duration `yaml:"timeout"`
}

// BlobConfig is the Azure Blob Storage sink.
type BlobConfig struct {
	ConnectionString string        `yaml:"connectionString"`
	AccountURL       string        `yaml:"accountURL"`
	Container        string        `yaml:"container"`
	PathTemplate     string        `yaml:"pathTemplate"`
	Gzip             bool          `yaml:"gzip"`
	CreateContainer  *bool         `yaml:"createContainer"`
	Timeout          time.Duration `yaml:"timeout"`
}

// Default is the configuration without a file: one local file sink.
func Default() Config {
	c := Config{}
	c.SetDefaults()
	return c
}

// SetDefaults fills every unset field.
func (c *Config) SetDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defSize := func(s *ByteSize, v ByteSize) {
		if *s == 0 {
			*s = v
		}
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.PubSub, "edge-pubsub")
	if len(c.Topics) == 0 {
		c.Topics = []string{"telemetry/#"}
	}
	def(&c.DataDir, "data")
	defSize(&c.MaxMessageBytes, 1<<20)
	if c.Bulk.MaxMessages == 0 {
		c.Bulk.MaxMessages = 100
	}
	defDur(&c.Bulk.MaxAwait, time.Millisecond)
	def(&c.Buffer.Dir, filepath.Join(c.DataDir, "buffer"))
	defSize(&c.Buffer.MaxBytes, 1<<30)
	defDur(&c.Buffer.MaxAge, 7*24*time.Hour)
	defSize(&c.Buffer.SegmentBytes, 16<<20)
	def(&c.Buffer.Policy, "reject")
	defDur(&c.Buffer.CommitInterval, time.Millisecond)
	defSize(&c.Buffer.CommitBytes, 1<<20)
	def(&c.DeadLetter.Dir, filepath.Join(c.DataDir, "deadletter"))
	defSize(&c.DeadLetter.MaxFileBytes, 64<<20)
	if len(c.Sinks) == 0 {
		c.Sinks = []SinkConfig{{Name: "local", Type: TypeFile, File: &FileConfig{Dir: filepath.Join(c.DataDir, "telemetry")}}}
	}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		d := &s.Delivery
		if d.BatchMessages == 0 {
			d.BatchMessages = 500
		}
		defSize(&d.BatchBytes, 1<<20)
		defDur(&d.RetryInitial, 200*time.Millisecond)
		defDur(&d.RetryMax, 30*time.Second)
		if d.BreakerFailures == 0 {
			d.BreakerFailures = 5
		}
		defDur(&d.BreakerCooldown, 15*time.Second)
		if d.ReplayMaxRate == 0 {
			d.ReplayMaxRate = 5000
		}
		if d.ReplayThreshold == 0 {
			d.ReplayThreshold = 2 * d.BatchMessages
		}
		switch s.Type {
		case TypeFile:
			if s.File == nil {
				s.File = &FileConfig{}
			}
			def(&s.File.Dir, filepath.Join(c.DataDir, "sink-"+s.Name))
			defSize(&s.File.MaxFileBytes, 64<<20)
			defDur(&s.File.MaxFileAge, time.Hour)
		case TypeKafka, TypeEventHubs:
			if s.Kafka == nil {
				break
			}
			k := s.Kafka
			if s.Type == TypeEventHubs {
				if len(k.Brokers) == 0 && k.Namespace != "" {
					k.Brokers = []string{k.Namespace + ".servicebus.windows.net:9093"}
				}
				if k.Auth == "" {
					k.Auth = "oauth"
					if k.ConnectionString != "" {
						k.Auth = "connection-string"
					}
				}
				if k.TLS == nil {
					t := true
					k.TLS = &t
				}
				defSize(&k.MaxRecordBytes, 1000000)
			}
			def(&k.Auth, "none")
			if k.TLS == nil {
				f := false
				k.TLS = &f
			}
			def(&k.Compression, "gzip")
			defDur(&k.Linger, 10*time.Millisecond)
			defSize(&k.MaxBatchBytes, 1000000)
			defSize(&k.MaxRecordBytes, 1<<20)
			defDur(&k.Timeout, 30*time.Second)
		case TypeBlob:
			if s.Blob == nil {
				break
			}
			def(&s.Blob.PathTemplate, "{yyyy}/{MM}/{dd}/{HH}/{asset}")
			if s.Blob.CreateContainer == nil {
				t := true
				s.Blob.CreateContainer = &t
			}
			defDur(&s.Blob.Timeout, 30*time.Second)
		}
	}
}

var sinkName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// Validate reports every problem at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.PubSub == "" {
		bad("pubsub", "required")
	}
	if len(c.Topics) == 0 {
		bad("topics", "at least one topic is required")
	}
	for i, t := range c.Topics {
		if t == "" || strings.Contains(t, "#") && !strings.HasSuffix(t, "#") {
			bad(fmt.Sprintf("topics[%d]", i), "invalid topic filter %q", t)
		}
	}
	if c.MaxMessageBytes <= 0 {
		bad("maxMessageBytes", "must be positive")
	}
	if c.Bulk.MaxMessages < 1 || c.Bulk.MaxMessages > 10000 {
		bad("bulk.maxMessages", "must be 1–10000, got %d", c.Bulk.MaxMessages)
	}
	if c.Bulk.MaxAwait < time.Millisecond || c.Bulk.MaxAwait > time.Minute || c.Bulk.MaxAwait%time.Millisecond != 0 {
		bad("bulk.maxAwait", "must be whole milliseconds from 1ms to 1m, got %s", c.Bulk.MaxAwait)
	}
	b := c.Buffer
	if b.Dir == "" {
		bad("buffer.dir", "required")
	}
	if b.SegmentBytes < 4096 {
		bad("buffer.segmentBytes", "must be at least 4096, got %d", b.SegmentBytes)
	}
	if b.MaxBytes < 4*b.SegmentBytes {
		bad("buffer.maxBytes", "must be at least 4 × buffer.segmentBytes (%d), got %d", 4*b.SegmentBytes, b.MaxBytes)
	}
	if b.MaxAge < 0 {
		bad("buffer.maxAge", "must not be negative")
	}
	if b.Policy != "reject" && b.Policy != "drop-oldest" {
		bad("buffer.policy", "want reject or drop-oldest, got %q", b.Policy)
	}
	if b.CommitInterval < 0 {
		bad("buffer.commitInterval", "must not be negative")
	}
	if int64(c.MaxMessageBytes) > int64(b.SegmentBytes) {
		bad("maxMessageBytes", "must not exceed buffer.segmentBytes (%d)", b.SegmentBytes)
	}
	if c.DeadLetter.Dir == "" {
		bad("deadLetter.dir", "required")
	}
	if len(c.Sinks) == 0 {
		bad("sinks", "at least one sink is required")
	}
	names := map[string]bool{}
	for i, s := range c.Sinks {
		f := fmt.Sprintf("sinks[%d]", i)
		if !sinkName.MatchString(s.Name) {
			bad(f+".name", "want 1-32 lower-case letters, digits or '-', got %q", s.Name)
		} else if names[s.Name] {
			bad(f+".name", "duplicate sink name %q", s.Name)
		}
		names[s.Name] = true
		d := s.Delivery
		if d.BatchMessages < 1 {
			bad(f+".delivery.batchMessages", "must be at least 1")
		}
		if d.BatchBytes < 1 {
			bad(f+".delivery.batchBytes", "must be positive")
		}
		if d.Linger < 0 {
			bad(f+".delivery.linger", "must not be negative")
		}
		if d.RetryInitial <= 0 || d.RetryMax < d.RetryInitial {
			bad(f+".delivery.retryInitial", "want 0 < retryInitial <= retryMax, got %s and %s", d.RetryInitial, d.RetryMax)
		}
		if d.BreakerFailures < 0 {
			bad(f+".delivery.breakerFailures", "must not be negative")
		}
		if d.ReplayThreshold < 0 {
			bad(f+".delivery.replayThreshold", "must not be negative")
		}
		blocks := 0
		for _, set := range []bool{s.File != nil, s.Kafka != nil, s.Blob != nil} {
			if set {
				blocks++
			}
		}
		if blocks > 1 {
			bad(f, "set only the block of its type (%s)", s.Type)
		}
		switch s.Type {
		case TypeFile:
			if s.File == nil || s.File.Dir == "" {
				bad(f+".file.dir", "required")
			}
		case TypeKafka, TypeEventHubs:
			k := s.Kafka
			if k == nil {
				bad(f+".kafka", "required for type %s", s.Type)
				break
			}
			if len(k.Brokers) == 0 {
				if s.Type == TypeEventHubs {
					bad(f+".kafka.namespace", "namespace or brokers is required")
				} else {
					bad(f+".kafka.brokers", "required")
				}
			}
			if k.Topic == "" {
				bad(f+".kafka.topic", "required")
			}
			switch k.Auth {
			case "none":
			case "plain":
				if k.Username == "" || k.Password == "" {
					bad(f+".kafka.username", "username and password are required for auth plain")
				}
			case "connection-string":
				if !strings.Contains(k.ConnectionString, "Endpoint=") {
					bad(f+".kafka.connectionString", "want an Event Hubs connection string (Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…)")
				}
			case "oauth":
			default:
				bad(f+".kafka.auth", "want none, plain, connection-string or oauth, got %q", k.Auth)
			}
			if k.Compression != "gzip" && k.Compression != "none" {
				bad(f+".kafka.compression", "want gzip or none, got %q", k.Compression)
			}
			if k.MaxRecordBytes <= 0 {
				bad(f+".kafka.maxRecordBytes", "must be positive")
			}
		case TypeBlob:
			bl := s.Blob
			if bl == nil {
				bad(f+".blob", "required for type blob")
				break
			}
			if (bl.ConnectionString == "") == (bl.AccountURL == "") {
				bad(f+".blob.connectionString", "set exactly one of connectionString and accountURL")
			}
			if bl.Container == "" {
				bad(f+".blob.container", "required")
			}
		default:
			bad(f+".type", "want file, kafka, eventhubs or blob, got %q", s.Type)
		}
	}
	return errors.Join(errs...)
}

// LoadFile reads a YAML file, expands ${VAR} and ${VAR:-default} with lookup, rejects unknown
// fields and applies the defaults. It does not validate (overrides come after).
func LoadFile(path string, lookup func(string) (string, bool)) (Config, error) {
	data, err := readFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := Parse(data, lookup)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return data, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Parse is Load on bytes.
func Parse(data []byte, lookup func(string) (string, bool)) (Config, error) {
	return parseWith(data, lookup, nil)
}

func parseWith(data []byte, lookup func(string) (string, bool), before func(*Config)) (Config, error) {
	var missing []error
	expanded := envRef.ReplaceAllStringFunc(string(data), func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := lookup(m[1]); ok && v != "" {
			return v
		}
		if m[2] != "" {
			return m[3]
		}
		missing = append(missing, fmt.Errorf("environment variable %s (referenced as %s) is not set", m[1], ref))
		return ""
	})
	if err := errors.Join(missing...); err != nil {
		return Config{}, err
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader([]byte(expanded)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && err.Error() != "EOF" {
		return Config{}, fmt.Errorf("yaml: %w", err)
	}
	if before != nil {
		before(&c)
	}
	c.SetDefaults()
	return c, nil
}

// ByteSize is a size in bytes written as an integer or with a unit: 512KiB, 64MiB, 1GiB, 10MB.
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}

// ParseByteSize reads "64MiB", "1GB", "4096".
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 4096, 512KiB, 64MiB, 1GiB)", s)
	}
	return ByteSize(f * float64(mult)), nil
}

// UnmarshalYAML accepts an integer or a string with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// String prints the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return strconv.FormatInt(int64(b), 10)
}

// Set implements flag.Value.
func (b *ByteSize) Set(s string) error {
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}
