// Command edgeframe-cluster runs a real single-node Kubernetes on this machine and the
// all-in-one bundle on it (see tools/localcluster).
//
//	edgeframe-cluster up     # start the node; prints the kubeconfig path
//	edgeframe-cluster e2e    # up if needed, install porter.yaml, verify, uninstall, summary
//	edgeframe-cluster down   # stop everything, restore kernel settings, remove the state
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edgeframe/edgeframe/tools/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "edgeframe-cluster:", err)
		}
		os.Exit(1)
	}
}

const usage = "usage: edgeframe-cluster up|down|e2e [flags]"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("edgeframe-cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("state-dir", localcluster.DefaultStateDir(), "the node's state directory (env EDGEFRAME_CLUSTER_DIR)")
	repo := fs.String("repo", ".", "edgeframe repository root (porter.yaml, charts, workloads)")
	runFor := fs.Duration("run", 90*time.Second, "e2e: how long the producers run (the L3 broker is deleted at half time)")
	keep := fs.Bool("keep", false, "e2e: leave the bundle installed (no uninstall)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("app", "edgeframe-cluster")
	c := localcluster.Config{StateDir: *dir, Repo: *repo, Log: log}
	switch args[0] {
	case "up":
		if err := c.Up(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, c.Kubeconfig())
		return nil
	case "down":
		return c.Down(ctx)
	case "e2e":
		s, err := c.E2E(ctx, localcluster.E2EOptions{Run: *runFor, KeepInstalled: *keep})
		if s != nil {
			s.Print(stdout)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "e2e: PASS")
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
