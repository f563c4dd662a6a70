// Package config is opcpublisher's command line: OPC Publisher's flag names where they
// exist (--pf, --mm, -c/--strict, --bs, --bi, --om, --kfc, --ka) plus edgeframe's own,
// each also read from EDGEFRAME_OPCPUBLISHER_<FLAG> when not given.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/edgeframe/edgeframe/pkg/flagenv"
	"github.com/edgeframe/edgeframe/pkg/observe"
)

// AppID is the workload's name and Dapr app id.
const AppID = "opcpublisher"

// Config is the whole command line.
type Config struct {
	PublishedNodesFile string
	MessagingMode      string
	Strict             bool
	BatchSize          int
	BatchIntervalMS    int
	MaxMessageSize     int
	QueueCapacity      int
	KeyFrameCount      int
	KeepAlive          bool
	DaprGRPC           string
	PubSub             string
	TopicTemplate      string
	Level              string
	Region             string
	Cluster            string
	HTTP               string
	PKIDir             string
	PublisherID        string
	ReconnectMax       time.Duration
	SessionKeepAlive   time.Duration
	LogLevel           string
	// StateDir holds a sequence state file per writer group (seq-<group>) so message ids
	// never repeat across restarts; "" keeps the sequences in memory.
	StateDir string
	// AutoAccept (--aa) trusts every server certificate; otherwise a server's
	// certificate must be in <pki>/trusted/certs (rejected ones go to <pki>/rejected/certs).
	AutoAccept bool
	// Dapr is OPC Publisher's --dapr / -d connection string, applied to PubSub,
	// TopicTemplate and DaprGRPC by Load.
	Dapr string
	// MessageEncoding is OPC Publisher's --me; only Json is produced.
	MessageEncoding string
	// Warnings are OPC Publisher flags that mean nothing here and were ignored.
	Warnings []string
}

// Default is the configuration without flags or variables.
func Default() Config {
	return Config{
		PublishedNodesFile: "publishednodes.json",
		MessagingMode:      "PubSub",
		BatchSize:          50,
		BatchIntervalMS:    1000,
		MaxMessageSize:     1 << 20,
		QueueCapacity:      4096,
		PubSub:             "edge-pubsub",
		TopicTemplate:      "telemetry/opcua/{WriterGroup}",
		Level:              "l2",
		HTTP:               ":8080",
		PKIDir:             "pki",
		PublisherID:        AppID,
		ReconnectMax:       2 * time.Second,
		SessionKeepAlive:   5 * time.Second,
		LogLevel:           "info",
		MessageEncoding:    "Json",
	}
}

// BatchInterval is --bi as a duration.
func (c Config) BatchInterval() time.Duration {
	return time.Duration(c.BatchIntervalMS) * time.Millisecond
}

// FlagSet binds every flag (and its OPC Publisher aliases) to c.
func (c *Config) FlagSet(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(AppID, flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, help string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, *p, help)
		}
	}
	num := func(p *int, help string, names ...string) {
		for _, n := range names {
			fs.IntVar(p, n, *p, help)
		}
	}
	boolean := func(p *bool, help string, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, *p, help)
		}
	}
	str(&c.PublishedNodesFile, "publishednodes.json to load and watch", "pf", "publishfile", "f")
	str(&c.MessagingMode, "messaging mode: PubSub (OPC UA PubSub JSON network messages) or Samples", "mm", "messagingmode")
	boolean(&c.Strict, "strict OPC UA Part 14 JSON (numeric DataSetWriterId and status codes)", "strict", "c")
	num(&c.BatchSize, "data set messages (PubSub) or samples per published message", "bs", "batchsize")
	num(&c.BatchIntervalMS, "most milliseconds a batch waits before it is published (0 = do not wait)", "bi", "batchtriggerinterval")
	num(&c.MaxMessageSize, "most bytes of a published message's data before a batch is cut (0 = no limit; daprd accepts 4 MiB requests by default)", "ms", "maxmessagesize")
	num(&c.QueueCapacity, "send queue capacity in messages; when full the oldest is dropped (counted, logged)", "om", "maxoutgressmessages")
	num(&c.KeyFrameCount, "default DataSetKeyFrameCount for entries without one (0 = key frame only first and after gaps)", "kfc", "keyframecount")
	boolean(&c.KeepAlive, "send ua-keepalive data set messages for writers without data", "ka", "sendkeepalivedatasetmessages")
	str(&c.DaprGRPC, "Dapr sidecar gRPC address host:port (empty = DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT / 127.0.0.1:50001)", "dapr-grpc")
	str(&c.PubSub, "Dapr pub/sub component", "pubsub")
	str(&c.TopicTemplate, "topic; {WriterGroup} is replaced by DataSetWriterGroup", "topic-template")
	str(&c.Level, "ISA-95 level (l2, l3, l4): event source and edge.layer", "level")
	str(&c.Region, "edge.region resource attribute", "region")
	str(&c.Cluster, "k8s.cluster.name resource attribute", "cluster")
	str(&c.HTTP, "address (or port) of /healthz, /readyz and /metrics", "http")
	str(&c.PKIDir, "PKI directory for the client certificate (created on first use)", "pki")
	str(&c.PublisherID, "PublisherId of network messages", "publisher-id")
	fs.DurationVar(&c.ReconnectMax, "reconnect-max", c.ReconnectMax, "cap of the reconnect backoff")
	fs.DurationVar(&c.SessionKeepAlive, "session-keepalive", c.SessionKeepAlive, "period of the server-state read that detects a dead server")
	str(&c.LogLevel, "log level: debug, info, warn, error (OPC Publisher's verbose, information, warning, fatal too)", "log-level", "loglevel", "ll")
	boolean(&c.AutoAccept, "trust every server certificate (otherwise it must be in <pki>/trusted/certs)", "aa", "autoaccept")
	str(&c.Dapr, `OPC Publisher's Dapr connection string "PubSub=<component>;Topic=<topic>[;GrpcPort=<port>][;Host=<host>]"`, "dapr", "d")
	str(&c.MessageEncoding, "message encoding: Json (the only one produced)", "me", "messageencoding")
	str(&c.StateDir, "directory of the sequence state files seq-<DataSetWriterGroup> (message ids never repeat across restarts); empty = in memory, ids repeat after a restart", "state-dir")
	return fs
}

// Load parses args, fills the rest from EDGEFRAME_OPCPUBLISHER_* through lookup, and
// validates. flag.ErrHelp is returned for -h.
func Load(args []string, lookup func(string) (string, bool), stderr io.Writer) (Config, error) {
	c := Default()
	fs := c.FlagSet(stderr)
	args, c.Warnings = dropUnknown(fs, args)
	if err := flagenv.Parse(fs, AppID, args, lookup); err != nil {
		return c, err
	}
	var derr error
	if c.Dapr != "" {
		derr = c.applyDapr()
	}
	c.LogLevel = logLevel(c.LogLevel)
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if _, err := strconv.Atoi(c.HTTP); err == nil {
		c.HTTP = ":" + c.HTTP
	}
	if strings.EqualFold(c.MessagingMode, "pubsub") {
		c.MessagingMode = "PubSub"
	} else if strings.EqualFold(c.MessagingMode, "samples") {
		c.MessagingMode = "Samples"
	}
	return c, errors.Join(derr, c.Validate())
}

// dropUnknown removes the flags fs does not define from args, so OPC Publisher command
// lines work unchanged, and returns a warning for each. An unknown flag without
// "=value" takes the next argument as its value unless that is a flag too.
func dropUnknown(fs *flag.FlagSet, args []string) ([]string, []string) {
	var out, warns []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		// -h/--help are not defined flags but the flag package's own: they print the usage.
		if !strings.HasPrefix(a, "-") || a == "-" || fs.Lookup(name) != nil || name == "h" || name == "help" {
			out = append(out, a)
			continue
		}
		ignored := a
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			ignored += " " + args[i]
		}
		warns = append(warns, fmt.Sprintf("OPC Publisher flag %q has no meaning in opcpublisher; ignored", ignored))
	}
	return out, warns
}

// applyDapr applies OPC Publisher's Dapr connection string: PubSub (or PubSubComponent)
// is the pub/sub component, Topic the topic (may use {WriterGroup}), GrpcPort and Host
// the sidecar address; other keys (HttpPort, Scheme, CheckSideCarHealth) are ignored.
func (c *Config) applyDapr() error {
	var host, port string
	for _, kv := range strings.Split(c.Dapr, ";") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--dapr: %q is not key=value", kv)
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "pubsub", "pubsubcomponent":
			c.PubSub = v
		case "topic":
			c.TopicTemplate = v
		case "grpcport":
			port = v
		case "host":
			host = v
		case "httpport", "scheme", "checksidecarhealth", "apitoken":
			c.Warnings = append(c.Warnings, fmt.Sprintf("--dapr: %s is ignored (opcpublisher talks gRPC to the sidecar)", k))
		default:
			return fmt.Errorf("--dapr: unknown key %q (want PubSub, Topic, GrpcPort, Host)", k)
		}
	}
	if port != "" {
		c.DaprGRPC = net.JoinHostPort(cmp.Or(host, "127.0.0.1"), port)
	}
	return nil
}

// logLevel maps OPC Publisher's (Serilog/.NET) level names to ours.
func logLevel(s string) string {
	switch strings.ToLower(s) {
	case "verbose", "trace", "debug":
		return "debug"
	case "information", "info":
		return "info"
	case "warning", "warn":
		return "warn"
	case "fatal", "critical", "error":
		return "error"
	}
	return s
}

// Validate reports every problem at once, each naming its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, a...)))
	}
	if c.PublishedNodesFile == "" {
		bad("pf", "required")
	}
	if c.MessagingMode != "PubSub" && c.MessagingMode != "Samples" {
		bad("mm", "%q: want PubSub or Samples", c.MessagingMode)
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		bad("bs", "want 1..100000, got %d", c.BatchSize)
	}
	if c.BatchIntervalMS < 0 || c.BatchIntervalMS > 3600000 {
		bad("bi", "want 0..3600000 ms, got %d", c.BatchIntervalMS)
	}
	if c.MaxMessageSize != 0 && (c.MaxMessageSize < 1024 || c.MaxMessageSize > 256<<20) {
		bad("ms", "want 0 or 1024..%d bytes, got %d", 256<<20, c.MaxMessageSize)
	}
	if c.QueueCapacity < 1 {
		bad("om", "want >= 1, got %d", c.QueueCapacity)
	}
	if c.KeyFrameCount < 0 {
		bad("kfc", "want >= 0, got %d", c.KeyFrameCount)
	}
	if c.DaprGRPC != "" {
		if _, _, err := net.SplitHostPort(c.DaprGRPC); err != nil {
			bad("dapr-grpc", "%q is not host:port", c.DaprGRPC)
		}
	}
	if c.PubSub == "" {
		bad("pubsub", "required")
	}
	if !strings.Contains(c.TopicTemplate, "{WriterGroup}") && strings.Contains(c.TopicTemplate, "{") {
		bad("topic-template", "%q: the only variable is {WriterGroup}", c.TopicTemplate)
	}
	if c.TopicTemplate == "" || strings.ContainsAny(c.TopicTemplate, "#+") {
		bad("topic-template", "%q: want a topic without wildcards", c.TopicTemplate)
	}
	switch c.Level {
	case "l2", "l3", "l4":
	default:
		bad("level", "%q: want l2, l3 or l4", c.Level)
	}
	if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
		bad("http", "%q is not host:port or a port", c.HTTP)
	}
	if c.PublisherID == "" {
		bad("publisher-id", "required")
	}
	if c.ReconnectMax < 100*time.Millisecond {
		bad("reconnect-max", "want >= 100ms, got %s", c.ReconnectMax)
	}
	if c.SessionKeepAlive < 100*time.Millisecond {
		bad("session-keepalive", "want >= 100ms, got %s", c.SessionKeepAlive)
	}
	if !strings.EqualFold(c.MessageEncoding, "Json") {
		bad("me", "%q: only Json is produced", c.MessageEncoding)
	}
	if _, err := observe.ParseLevel(c.LogLevel); err != nil {
		bad("log-level", "%v", err)
	}
	return errors.Join(errs...)
}
