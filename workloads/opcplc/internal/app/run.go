package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"strconv"

	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/config"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/server"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/web"
)

// Run runs opcplc until ctx ends. Logs go to stdout, usage to stderr.
func Run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	o, ok, err := workload.Load(config.Load, args, lookup, stderr)
	if !ok {
		return err
	}
	// gopcua's server prints its node set import through the standard logger; our own
	// logs are slog JSON on stdout.
	log.SetOutput(io.Discard)
	return Serve(ctx, o, stdout)
}

// Serve serves the simulation configured by o until ctx ends.
func Serve(ctx context.Context, o config.Config, stdout io.Writer) error {
	if o.LogFile != "" {
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--lf: %w", err)
		}
		defer f.Close()
		stdout = io.MultiWriter(stdout, f)
	}
	obs, err := observe.Start(ctx, stdout, observe.Resource{Service: config.AppID, Layer: o.Level}, o.LogLevel)
	if err != nil {
		return err
	}
	defer obs.Stop()
	log, reg := obs.Log, obs.Registry
	for _, w := range o.Ignored {
		log.Warn("OPC PLC option not supported, ignored", "option", w)
	}

	seed := o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	sim, err := plc.New(o.Sim, plc.RealClock{}, seed)
	if err != nil {
		return err
	}
	srv, err := server.New(o.Server, sim, log, reg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Close()

	if o.PNFile != "" {
		if err := showPublishedNodes(o, srv.Endpoint(), sim.Nodes()); err != nil {
			return err
		}
		log.Info("publishednodes file written", "file", o.PNFile, "by_ip", o.PNUseIP)
	}

	errc := make(chan error, 2)
	go func() { errc <- sim.Run(ctx) }()
	if o.WebPort > 0 {
		// --listen binds this listener too (empty = every interface).
		hs, err := observe.NewServer(net.JoinHostPort(o.Server.Listen, strconv.Itoa(o.WebPort)), reg, srv.Ready)
		if err != nil {
			return err
		}
		hs.Mux.Handle("GET /pn.json", web.Handler(web.Options{EndpointURL: srv.Endpoint(), UseSecurity: !o.Server.UnsecureTransport, Group: o.Group}, sim.Nodes))
		if o.Pprof {
			hs.ServePprof()
		}
		log.Info("http listening", "addr", hs.Addr(), "paths", "/pn.json /healthz /readyz /metrics")
		go func() { errc <- hs.Run(ctx) }()
	}
	log.Info("opcplc running", "nodes", len(sim.Nodes()), "fast_nodes", o.Sim.Fast.Count, "fast_rate", o.Sim.Fast.Rate.String(),
		"slow_nodes", o.Sim.Slow.Count, "slow_rate", o.Sim.Slow.Rate.String(), "cycle_time", o.Sim.CycleTime.String(), "seed", seed)
	select {
	case <-ctx.Done():
		log.Info("opcplc stopping")
		return nil
	case err := <-errc:
		if err == nil || errors.Is(err, context.Canceled) {
			return nil
		}
		return fmt.Errorf("opcplc: %w", err)
	}
}
