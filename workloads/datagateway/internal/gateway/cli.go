package gateway

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/edgeframe/edgeframe/pkg/flagenv"
	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/pkg/version"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/config"
)

// AppID is the Dapr app id and the flag/env prefix (EDGEFRAME_DATAGATEWAY_<FLAG>).
const AppID = "datagateway"

// Settings are the parsed command line.
type Settings struct {
	Config      config.Config
	AppPort     int
	HTTPAddr    string
	LogLevel    string
	Layer       string
	Region      string
	Cluster     string
	PrintConfig bool
	Pprof       bool
	MemoryLimit config.ByteSize
}

// Parse reads flags (with EDGEFRAME_DATAGATEWAY_* fallbacks), loads the YAML file and
// validates the result, reporting every problem.
func Parse(args []string, lookup func(string) (string, bool), stderr io.Writer) (Settings, error) {
	fs := flag.NewFlagSet(AppID, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		s Settings
		f config.Flags
	)
	f.Register(fs)
	fs.IntVar(&s.AppPort, "app-port", 6001, "port of the Dapr gRPC app (daprd --app-port)")
	fs.StringVar(&s.HTTPAddr, "http-addr", ":8080", "address of /healthz, /readyz and /metrics")
	fs.StringVar(&s.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&s.Layer, "layer", "l4", "ISA-95 level (edge.layer)")
	fs.StringVar(&s.Region, "region", "", "edge.region resource attribute")
	fs.StringVar(&s.Cluster, "cluster", "", "k8s.cluster.name resource attribute")
	fs.Var(&s.MemoryLimit, "memory-limit", "Go soft memory limit (GOMEMLIMIT wins when set; 0 = none)")
	fs.BoolVar(&s.Pprof, "pprof", false, "serve net/http/pprof under /debug/pprof/ on --http-addr")
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

// Run starts the gateway with s and blocks until ctx ends.
func Run(ctx context.Context, s Settings, stdout io.Writer) error {
	if s.PrintConfig {
		return yaml.NewEncoder(stdout).Encode(Redacted(s.Config))
	}
	if v, set := os.LookupEnv("GOMEMLIMIT"); (!set || v == "") && s.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(s.MemoryLimit))
	}
	obs, err := observe.Start(ctx, stdout, observe.Resource{Service: AppID, Layer: s.Layer, Region: s.Region, Cluster: s.Cluster}, s.LogLevel)
	if err != nil {
		return err
	}
	defer obs.Stop()
	log, reg, tel := obs.Log, obs.Registry, obs.Telemetry
	g, err := New(s.Config, Options{
		AppAddr: ":" + strconv.Itoa(s.AppPort), HTTPAddr: s.HTTPAddr,
		Logger: log, Tracer: tel.Tracer, Registry: reg, Pprof: s.Pprof,
	})
	if err != nil {
		return err
	}
	log.Info("datagateway starting", "version", version.Version)
	return g.Run(ctx)
}

// Redacted is c with passwords and connection strings replaced, for printing.
func Redacted(c config.Config) config.Config {
	const r = "<redacted>"
	sinks := make([]config.SinkConfig, len(c.Sinks))
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
