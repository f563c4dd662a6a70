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

	"github.com/edgeframe/edgeframe/internal/localcluster"
)

const clusterUsage = "usage: edgeframe cluster up|down|e2e [flags]"

// clusterMain runs a real single-node Kubernetes on this machine and the all-in-one bundle
// on it (internal/localcluster; `make cluster-up`, `cluster-e2e`, `cluster-down`):
//
//	edgeframe cluster up     start the node; prints the kubeconfig path
//	edgeframe cluster e2e    up if needed, install porter.yaml, verify, uninstall, summary
//	edgeframe cluster down   stop everything, restore kernel settings, remove the state
func clusterMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cluster(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "edgeframe cluster:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "edgeframe cluster:", err)
		return 1
	}
}

// usageError is a command line the flag set refused (exit 2, as dispatch's usage errors).
type usageError struct{ error }

func cluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, clusterUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("edgeframe cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("state-dir", localcluster.DefaultStateDir(), "the node's state directory (env EDGEFRAME_CLUSTER_DIR)")
	repo := fs.String("repo", ".", "edgeframe repository root (porter.yaml, charts, workloads)")
	runFor := fs.Duration("run", 90*time.Second, "e2e: how long the producers run (the L3 broker is deleted at half time)")
	keep := fs.Bool("keep", false, "e2e: leave the bundle installed (no uninstall)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
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
		fmt.Fprintln(stderr, clusterUsage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
