// Package observe is the observability plumbing every workload shares: slog JSON logs,
// OpenTelemetry traces and metrics tagged with the level, and the /healthz, /readyz and
// /metrics HTTP endpoints.
package observe

import (
	"io"
	"log/slog"
)

// NewLogger returns a JSON logger whose records carry app and, when known, edge.layer.
func NewLogger(w io.Writer, app, layer string, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	l := slog.New(h).With("app", app)
	if layer != "" {
		l = l.With("edge.layer", layer)
	}
	return l
}

// ParseLevel maps debug|info|warn|error to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}
