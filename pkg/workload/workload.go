// Package workload is the start-up every edgeframe workload shares. A workload's command is
// one line,
//
//	func main() { workload.Main(config.AppID, app.Run) }
//
// and its internal/app.Run (a RunFunc) reads its configuration with Load from its
// internal/config package, then runs until the context ends. Main gives Run a context
// cancelled on SIGINT or SIGTERM, sets the garbage collector's default, and turns Run's error
// into the exit status: 0, 2 for a configuration error (ErrConfig), 1 for anything else.
package workload

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// ErrConfig marks a configuration error (exit status 2).
var ErrConfig = errors.New("configuration")

// RunFunc is a workload's internal/app.Run: it runs until ctx ends with the command line args,
// the environment through lookup, logs on stdout and usage on stderr.
type RunFunc func(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error

// LoadFunc is a workload's internal/config.Load.
type LoadFunc[C any] func(args []string, lookup func(string) (string, bool), stderr io.Writer) (C, error)

// Load reads the configuration with load. ok is false, with no error, when the command line
// asked for -h/--help (load has printed the usage; Run returns nil). An error is wrapped in
// ErrConfig.
func Load[C any](load LoadFunc[C], args []string, lookup func(string) (string, bool), stderr io.Writer) (cfg C, ok bool, err error) {
	cfg, err = load(args, lookup, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, false, nil
	}
	if err != nil {
		return cfg, false, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return cfg, true, nil
}

// Option changes how Main starts a workload.
type Option func(*options)

type options struct {
	gcPercent int
}

// GCPercent sets the garbage collector's target percentage when GOGC is not set (or empty):
// a low value keeps the heap close to the live data where the garbage per second is several
// times the live heap, and an edge device pays for peak memory more than for a few percent of
// CPU.
func GCPercent(p int) Option { return func(o *options) { o.gcPercent = p } }

// Main runs the workload name with os.Args, os.LookupEnv, os.Stdout and os.Stderr until
// SIGINT or SIGTERM, and exits with Status.
func Main(name string, run RunFunc, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if v, set := os.LookupEnv("GOGC"); o.gcPercent > 0 && (!set || v == "") {
		debug.SetGCPercent(o.gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(Status(name, err, os.Stderr))
}

// Status is the exit status of a workload whose Run returned err: 0 for nil, 2 for a
// configuration error, 1 otherwise. It prints a non-nil err on stderr as "<name>: <err>".
func Status(name string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	if errors.Is(err, ErrConfig) {
		return 2
	}
	return 1
}
