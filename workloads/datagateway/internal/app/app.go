// Package app runs the datagateway: its command line (config.Load), the process settings
// around the gateway (memory limit, observability) and the gateway itself until the context
// ends.
package app

import (
	"context"
	"io"
	"os"
	"runtime/debug"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/pkg/version"
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/config"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gateway"
)

// Run runs the datagateway until ctx ends. Logs go to stdout, usage to stderr.
func Run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	s, ok, err := workload.Load(config.Load, args, lookup, stderr)
	if !ok {
		return err
	}
	return Serve(ctx, s, stdout)
}

// Serve starts the gateway with s and blocks until ctx ends.
func Serve(ctx context.Context, s config.Settings, stdout io.Writer) error {
	if s.PrintConfig {
		return yaml.NewEncoder(stdout).Encode(config.Redacted(s.Config))
	}
	if v, set := os.LookupEnv("GOMEMLIMIT"); (!set || v == "") && s.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(s.MemoryLimit))
	}
	obs, err := observe.Start(ctx, stdout, observe.Resource{Service: config.AppID, Layer: s.Level, Region: s.Region, Cluster: s.Cluster}, s.LogLevel)
	if err != nil {
		return err
	}
	defer obs.Stop()
	log, reg, tel := obs.Log, obs.Registry, obs.Telemetry
	g, err := gateway.New(s.Config, gateway.Options{
		AppAddr: ":" + strconv.Itoa(s.AppPort), HTTPAddr: s.HTTPAddr,
		Logger: log, Tracer: tel.Tracer, Registry: reg, Pprof: s.Pprof,
	})
	if err != nil {
		return err
	}
	log.Info("datagateway starting", "version", version.Version)
	return g.Run(ctx)
}
