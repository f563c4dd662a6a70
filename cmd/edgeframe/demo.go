package main

// `edgeframe demo` runs the local topology: three bridged mosquitto brokers
// (L2 → L3 → L4), opcplc, opcpublisher and tempsensor with their Dapr sidecars at L2 and
// the datagateway at L4 writing to the local file sink, then prints a live table every
// second until --duration ends or Ctrl-C, stops every child process and prints a summary.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeframe/edgeframe/internal/toolcache"
	"github.com/edgeframe/edgeframe/internal/topology"
	"github.com/edgeframe/edgeframe/pkg/flagenv"
)

type options struct {
	duration  time.Duration
	rate      float64
	opcRate   float64
	opcNodes  int
	dataDir   string
	binDir    string
	chartsDir string
	basePort  int
	azurite   bool
}

func parse(args []string, lookup func(string) (string, bool)) (options, error) {
	var o options
	fs := flag.NewFlagSet("edgeframe demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.DurationVar(&o.duration, "duration", 0, "how long to run (0 = until Ctrl-C)")
	fs.Float64Var(&o.rate, "rate", 10, "tempsensor load in messages per second")
	fs.Float64Var(&o.opcRate, "opc-rate", 1, "opcpublisher messages per second (0 = no OPC UA pair)")
	fs.IntVar(&o.opcNodes, "opc-nodes", 10, "opcplc fast nodes sampled by the publisher")
	fs.StringVar(&o.dataDir, "data-dir", "./.edgeframe/data", "where runs keep their sink, brokers, buffer, PKI and logs")
	fs.StringVar(&o.binDir, "bin-dir", "./bin", "directory of the workload binaries (make build)")
	fs.StringVar(&o.chartsDir, "charts-dir", "./charts", "the Helm charts the configuration is rendered from")
	fs.IntVar(&o.basePort, "base-port", 18830, "first of the consecutive loopback ports the topology listens on")
	fs.BoolVar(&o.azurite, "azurite", false, "also deliver to a local Azurite blob emulator (when `make tools` installed it)")
	if err := fs.Parse(args); err != nil {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		return o, fmt.Errorf("%w\nflags:\n%s", err, b.String())
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := flagenv.Apply(fs, "demo", lookup); err != nil {
		return o, err
	}
	var errs []error
	// Children run in their own directories: every path we hand them must be absolute.
	for _, d := range []struct {
		flag string
		v    *string
	}{{"--bin-dir", &o.binDir}, {"--data-dir", &o.dataDir}, {"--charts-dir", &o.chartsDir}} {
		abs, err := filepath.Abs(*d.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.flag, err))
			continue
		}
		*d.v = abs
	}
	if o.duration < 0 {
		errs = append(errs, fmt.Errorf("--duration: %s is negative", o.duration))
	}
	return o, errors.Join(errs...)
}

// config turns the options into a topology configuration; every missing piece is one
// line saying how to fix it.
func (o options) config(now time.Time) (topology.Config, error) {
	cfg := topology.Config{
		Rate:      o.rate,
		OPCRate:   o.opcRate,
		OPCNodes:  o.opcNodes,
		RunDir:    filepath.Join(o.dataDir, "runs", now.UTC().Format("20060102T150405Z")),
		ChartsDir: o.chartsDir,
		BasePort:  o.basePort,
		Mosquitto: toolcache.Look("mosquitto"),
		Daprd:     toolcache.Look("daprd"),
		Binaries:  map[string]string{},
	}
	var errs []error
	for _, w := range []string{topology.OPCPLC, topology.OPCPublisher, topology.TempSensor, topology.DataGateway} {
		p := filepath.Join(o.binDir, w)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			cfg.Binaries[w] = p
		}
	}
	if _, err := os.Stat(filepath.Join(o.chartsDir, "mosquitto", "Chart.yaml")); err != nil {
		errs = append(errs, fmt.Errorf("--charts-dir: %s has no mosquitto chart: run from the repository root", o.chartsDir))
	}
	if o.azurite {
		if cfg.Azurite = toolcache.Look("azurite-blob"); cfg.Azurite == "" {
			fmt.Fprintln(os.Stderr, "note: --azurite: azurite-blob is not installed (run `make tools`); delivering to the file sink only")
		}
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

func run(ctx context.Context, o options, out io.Writer) error {
	cfg, err := o.config(time.Now())
	if err != nil {
		return err
	}
	topo, err := topology.Plan(ctx, cfg)
	if err != nil {
		return err
	}
	topo.Describe(out)
	fmt.Fprintln(out, "starting…")
	defer topo.Close()
	if err := topo.StartBrokers(ctx); err != nil {
		return err
	}
	mon, err := topo.NewMonitor() // before the producers: the L2 tap sees every message
	if err != nil {
		return err
	}
	defer mon.Close()
	if err := topo.StartWorkloads(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "running; Ctrl-C stops")
	start := time.Now()
	var end <-chan time.Time
	if o.duration > 0 {
		end = time.After(o.duration)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	rows := 0
loop:
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "interrupted: stopping")
			break loop
		case <-end:
			break loop
		case <-tick.C:
			if rows%20 == 0 {
				fmt.Fprintln(out, topology.TableHeader())
			}
			rows++
			fmt.Fprintln(out, mon.Sample(context.Background()).Row(time.Since(start)))
			for _, p := range topo.Sup.Processes() {
				if p.Exited() {
					return fmt.Errorf("%s exited unexpectedly (%v); its log: %s", p.Spec.Name, p.ExitErr(), p.LogPath)
				}
			}
		}
	}
	elapsed := time.Since(start)
	// stop the producers, give what they published a few seconds to reach the sink
	topo.StopProducers()
	drain, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	mon.WaitDelivered(drain)
	cancel()
	summary := mon.Summary(elapsed) // before the shutdown's own disconnect errors
	topo.Close()
	fmt.Fprint(out, summary)
	if orphans := topo.Sup.Orphans(); len(orphans) > 0 {
		return fmt.Errorf("processes left running: %s", strings.Join(orphans, ", "))
	}
	fmt.Fprintln(out, "every child process stopped")
	return nil
}
