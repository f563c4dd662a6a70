// Command chartpkg packages the charts under charts/ for a Helm repository (archives and
// index.yaml) and optionally pushes them to an OCI registry. `make charts` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/edgeframe/edgeframe/build/publish"
	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/pkg/flagenv"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chartpkg:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chartpkg", flag.ContinueOnError)
	chartsDir := fs.String("charts", "charts", "directory holding the charts")
	out := fs.String("out", "dist/charts", "output directory for the archives and index.yaml")
	url := fs.String("url", "", "base URL of the Helm repository written into index.yaml (empty = relative)")
	push := fs.String("push", "", "OCI registry reference to push to, e.g. oci://registry.example.com/edgeframe/charts (empty = no push)")
	plain := fs.Bool("plain-http", false, "use HTTP instead of HTTPS for the OCI registry")
	stage := fs.String("stage", "", "instead of packaging, copy the charts into this directory with their dependencies built (`helm dependency build`), for the helm CLI and Porter's helm3 mixin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := flagenv.Apply(fs, "chartpkg", os.LookupEnv); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("app", "chartpkg")
	if *stage != "" {
		if err := chartrender.StageCharts(*chartsDir, *stage); err != nil {
			return err
		}
		log.Info("staged", "charts", *chartsDir, "into", *stage)
		return nil
	}
	archives, err := publish.Package(ctx, *chartsDir, *out, *url)
	if err != nil {
		return err
	}
	for _, a := range archives {
		log.Info("packaged", "archive", a)
	}
	log.Info("index written", "path", *out+"/index.yaml")
	if *push == "" {
		return nil
	}
	refs, err := publish.PushOCI(ctx, archives, *push, publish.PushOptions{PlainHTTP: *plain})
	for _, r := range refs {
		log.Info("pushed", "ref", r)
	}
	return err
}
