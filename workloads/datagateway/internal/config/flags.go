package config

import (
	"flag"
	"fmt"
	"strings"
	"time"
)

// Flags are the command-line settings; those given (on the command line or through
// EDGEFRAME_DATAGATEWAY_<FLAG>) override the file.
type Flags struct {
	ConfigPath      string
	DataDir         string
	PubSub          string
	Topics          string
	BufferDir       string
	BufferPolicy    string
	BufferMaxBytes  ByteSize
	BufferMaxAge    time.Duration
	MaxMessageBytes ByteSize
}

// Register defines the flags on fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.ConfigPath, "config", "", "gateway YAML file (sinks, buffer, delivery); without it one local file sink is used")
	fs.StringVar(&f.DataDir, "data-dir", "data", "root of the buffer, dead-letter and default file-sink directories")
	fs.StringVar(&f.PubSub, "pubsub", "edge-pubsub", "Dapr pub/sub component to subscribe on")
	fs.StringVar(&f.Topics, "topics", "telemetry/#", "comma-separated topics to subscribe to (MQTT wildcards allowed)")
	fs.StringVar(&f.BufferDir, "buffer-dir", "", "buffer directory (default <data-dir>/buffer)")
	fs.StringVar(&f.BufferPolicy, "buffer-policy", "reject", "when the buffer is full: reject (NACK, the broker keeps the message) or drop-oldest (counted)")
	f.BufferMaxBytes = 1 << 30
	fs.Var(&f.BufferMaxBytes, "buffer-max-bytes", "buffer bound on disk (e.g. 512MiB, 1GiB)")
	fs.DurationVar(&f.BufferMaxAge, "buffer-max-age", 7*24*time.Hour, "messages older than this are dropped from the buffer (counted)")
	f.MaxMessageBytes = 1 << 20
	fs.Var(&f.MaxMessageBytes, "max-message-bytes", "larger messages go to the dead-letter store as oversized")
}

// Resolve builds the configuration: the file (or the defaults) with the flags that were
// set applied on top. It does not validate.
func (f *Flags) Resolve(fs *flag.FlagSet, lookup func(string) (string, bool)) (Config, error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var c Config
	if f.ConfigPath != "" {
		data, err := readFile(f.ConfigPath)
		if err != nil {
			return Config{}, err
		}
		// dataDir from the flag must be known before the defaults derive paths from it.
		if c, err = parseWith(data, lookup, func(c *Config) {
			if set["data-dir"] || c.DataDir == "" {
				c.DataDir = f.DataDir
			}
		}); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", f.ConfigPath, err)
		}
	} else {
		c = Config{DataDir: f.DataDir}
	}
	if set["pubsub"] {
		c.PubSub = f.PubSub
	}
	if set["topics"] {
		c.Topics = splitList(f.Topics)
	}
	if set["buffer-dir"] {
		c.Buffer.Dir = f.BufferDir
	}
	if set["buffer-policy"] {
		c.Buffer.Policy = f.BufferPolicy
	}
	if set["buffer-max-bytes"] {
		c.Buffer.MaxBytes = f.BufferMaxBytes
	}
	if set["buffer-max-age"] {
		c.Buffer.MaxAge = f.BufferMaxAge
	}
	if set["max-message-bytes"] {
		c.MaxMessageBytes = f.MaxMessageBytes
	}
	c.SetDefaults()
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
