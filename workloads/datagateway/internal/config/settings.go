package config

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/edgeframe/edgeframe/pkg/flagenv"
	"github.com/edgeframe/edgeframe/pkg/observe"
)

// AppID is the Dapr app id and the flag/env prefix (EDGEFRAME_DATAGATEWAY_<FLAG>).
const AppID = "datagateway"

// Settings are the parsed command line: the gateway's Config (its file with the flags that
// override it) and the process-level settings around it.
type Settings struct {
	Config      Config
	AppPort     int
	HTTPAddr    string
	LogLevel    string
	Level       string
	Region      string
	Cluster     string
	PrintConfig bool
	Pprof       bool
	MemoryLimit ByteSize
}

// Load reads flags (with EDGEFRAME_DATAGATEWAY_* fallbacks), loads the YAML file and
// validates the result, reporting every problem.
func Load(args []string, lookup func(string) (string, bool), stderr io.Writer) (Settings, error) {
	fs := flag.NewFlagSet(AppID, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		s Settings
		f Flags
	)
	f.Register(fs)
	fs.IntVar(&s.AppPort, "app-port", 6001, "port of the Dapr gRPC app (daprd --app-port)")
	fs.StringVar(&s.HTTPAddr, "http", ":8080", "address of /healthz, /readyz and /metrics; --http-addr is an alias")
	fs.StringVar(&s.HTTPAddr, "http-addr", ":8080", "alias of --http")
	fs.StringVar(&s.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&s.Level, "level", "l4", "ISA-95 level (edge.layer); --layer is an alias")
	fs.StringVar(&s.Level, "layer", "l4", "alias of --level")
	fs.StringVar(&s.Region, "region", "", "edge.region resource attribute")
	fs.StringVar(&s.Cluster, "cluster", "", "k8s.cluster.name resource attribute")
	fs.Var(&s.MemoryLimit, "memory-limit", "Go soft memory limit (GOMEMLIMIT wins when set; 0 = none)")
	fs.BoolVar(&s.Pprof, "pprof", false, "serve net/http/pprof under /debug/pprof/ on --http")
	fs.BoolVar(&s.PrintConfig, "print-config", false, "print the resolved configuration as YAML and exit")
	if err := flagenv.Parse(fs, AppID, args, lookup); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var errs []error
	cfg, err := f.Resolve(fs, lookup)
	if err != nil {
		return s, err
	}
	s.Config = cfg
	errs = append(errs, cfg.Validate())
	if s.AppPort < 0 || s.AppPort > 65535 {
		errs = append(errs, fmt.Errorf("--app-port: want 0-65535, got %d", s.AppPort))
	}
	if _, err := observe.ParseLevel(s.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	return s, errors.Join(errs...)
}

// Redacted is c with passwords and connection strings replaced, for printing.
func Redacted(c Config) Config {
	const r = "<redacted>"
	sinks := make([]SinkConfig, len(c.Sinks))
	for i, sc := range c.Sinks {
		if sc.Kafka != nil {
			k := *sc.Kafka
			if k.Password != "" {
				k.Password = r
			}
			if k.ConnectionString != "" {
				k.ConnectionString = r
			}
			sc.Kafka = &k
		}
		if sc.Blob != nil {
			b := *sc.Blob
			if b.ConnectionString != "" {
				b.ConnectionString = r
			}
			sc.Blob = &b
		}
		sinks[i] = sc
	}
	c.Sinks = sinks
	return c
}
