package observe

import (
	"context"
	"io"
	"log/slog"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
)

// StopTimeout bounds how long Process.Stop waits for the exporters to flush.
const StopTimeout = 5 * time.Second

// Process is what every workload sets up first: its JSON logger, its Prometheus registry
// (Go and process collectors) and its OpenTelemetry providers.
type Process struct {
	Log      *slog.Logger
	Registry *promclient.Registry
	*Telemetry
}

// Start sets up the observability of the process r names, logging to w at logLevel
// (debug|info|warn|error; anything else is info — the workloads' configuration refuses it
// before this).
func Start(ctx context.Context, w io.Writer, r Resource, logLevel string) (*Process, error) {
	level, _ := ParseLevel(logLevel)
	p := &Process{Log: NewLogger(w, r.Service, r.Layer, level), Registry: NewRegistry()}
	tel, err := Setup(ctx, r, p.Registry)
	if err != nil {
		return nil, err
	}
	p.Telemetry = tel
	return p, nil
}

// Stop flushes and stops the exporters, waiting at most StopTimeout, and logs a failure.
func (p *Process) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		p.Log.Warn("telemetry shutdown", "err", err)
	}
}
