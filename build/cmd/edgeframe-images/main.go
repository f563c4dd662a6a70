// Command edgeframe-images builds the workload images daemonlessly (no Docker), publishes
// them and the charts to a registry, records what it built in bin/images.lock.json and writes
// the digests into the staged bundle manifests (bin/bundles/*/porter.yaml, staged by
// build/bundles/build.sh); the committed manifests name the workload images by tag only.
//
//	edgeframe-images build   [flags]   # make images, make bundles: OCI layout in bin/images, lock, staged manifests
//	edgeframe-images publish [flags]   # make publish REGISTRY=…: build, push images + charts, lock, staged manifests
//	edgeframe-images verify  [flags]   # rebuild with a lock's inputs, fail on any other digest
//
// Every flag also reads EDGEFRAME_IMAGES_<FLAG> (e.g. EDGEFRAME_IMAGES_REGISTRY).
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
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edgeframe/edgeframe/build/imagebuild"
	"github.com/edgeframe/edgeframe/build/imagebuild/bundleimages"
	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
	"github.com/edgeframe/edgeframe/build/publish"
	"github.com/edgeframe/edgeframe/pkg/flagenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "edgeframe-images:", err)
		}
		os.Exit(2)
	}
}

type config struct {
	root, registry, version, revision, created, platforms, caCerts string
	lock, layout, manifests, charts, fromGit                       string
	insecure, noCharts                                             bool
}

const usage = `usage: edgeframe-images build|publish|verify [flags]`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	verb := args[0]
	fs := flag.NewFlagSet("edgeframe-images "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.root, "root", ".", "repository root (module directory)")
	fs.StringVar(&c.registry, "registry", imagebuild.DefaultRegistry, "registry host[:port][/path]; images are <registry>/edgeframe/<name>")
	fs.StringVar(&c.version, "version", "", "version stamped into binaries and labels (default: contents of bundles/VERSION)")
	fs.StringVar(&c.revision, "revision", "", "org.opencontainers.image.revision (default: last commit touching workloads, pkg, go.mod, go.sum)")
	fs.StringVar(&c.created, "created", "", "image creation time, RFC 3339 or Unix seconds (default: $SOURCE_DATE_EPOCH, else that commit's time)")
	fs.StringVar(&c.platforms, "platforms", imagebuild.DefaultPlatforms, "comma-separated os/arch list")
	fs.StringVar(&c.caCerts, "ca-certs", imagebuild.DefaultCACerts, "PEM CA bundle copied into every image")
	fs.StringVar(&c.lock, "lock", imagelock.DefaultPath, "image lock file written by build and publish, read by verify (relative to --root)")
	fs.StringVar(&c.layout, "layout", "bin/images", "OCI image layout directory written by build (relative to --root; empty: none)")
	fs.StringVar(&c.manifests, "manifests", "bin/bundles/*/porter.yaml", "comma-separated globs of the staged porter.yaml files whose images: get the digests (relative to --root; matching none is fine)")
	fs.StringVar(&c.charts, "charts", "charts", "chart directory published by publish (relative to --root)")
	fs.StringVar(&c.fromGit, "from-git", "", "build from this commit (e.g. HEAD) exported with git archive instead of the working tree, so the digests are those of what is committed")
	fs.BoolVar(&c.insecure, "insecure", false, "talk plain HTTP to the registry (local registries)")
	fs.BoolVar(&c.noCharts, "no-charts", false, "publish images only")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := flagenv.Apply(fs, "images", os.LookupEnv); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("app", "edgeframe-images")
	logf := func(format string, a ...any) { log.Info(fmt.Sprintf(format, a...)) }
	switch verb {
	case "build":
		_, err := build(ctx, c, logf, stdout)
		return err
	case "publish":
		return publishAll(ctx, c, logf, stdout)
	case "verify":
		return verify(ctx, c, logf, stdout)
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", verb)
	}
}

func (c config) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.root, p)
}

func options(ctx context.Context, c config) (imagebuild.Options, error) {
	var errs []error
	ps, err := imagebuild.ParsePlatforms(c.platforms)
	if err != nil {
		errs = append(errs, fmt.Errorf("--platforms: %w", err))
	}
	version := c.version
	if version == "" {
		b, err := os.ReadFile(c.path("bundles/VERSION"))
		if err != nil {
			errs = append(errs, fmt.Errorf("--version: not given and %w", err))
		}
		version = strings.TrimSpace(string(b))
	}
	rev, created := c.revision, time.Time{}
	if c.revision == "" || (c.created == "" && os.Getenv("SOURCE_DATE_EPOCH") == "") {
		r, t, err := imagebuild.SourceRevision(ctx, c.root, c.fromGit)
		if err != nil {
			errs = append(errs, fmt.Errorf("--revision/--created: %w", err))
		}
		if rev == "" {
			rev = r
		}
		created = t
	}
	when := c.created
	if when == "" {
		when = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if when != "" {
		t, err := parseTime(when)
		if err != nil {
			errs = append(errs, fmt.Errorf("--created: %w", err))
		}
		created = t
	}
	return imagebuild.Options{
		Root: c.root, Platforms: ps, Version: version, Revision: rev,
		Source: imagebuild.DefaultSource, Created: created, CACerts: c.caCerts,
	}, errors.Join(errs...)
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want Unix seconds or RFC 3339", s)
	}
	return t.UTC(), nil
}

// build builds every image, writes the layout, the lock and the manifests.
func build(ctx context.Context, c config, logf func(string, ...any), stdout io.Writer) (*imagebuild.Result, error) {
	o, err := options(ctx, c)
	if err != nil {
		return nil, err
	}
	o.Log = logf
	if c.fromGit != "" {
		src, err := imagebuild.ExportGit(ctx, c.root, c.fromGit)
		if err != nil {
			return nil, fmt.Errorf("--from-git: %w", err)
		}
		defer os.RemoveAll(src)
		o.Root = src
	}
	res, err := imagebuild.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	if c.layout != "" {
		if err := res.WriteLayout(c.path(c.layout)); err != nil {
			return nil, err
		}
	}
	lock, err := res.Lock(c.registry)
	if err != nil {
		return nil, err
	}
	// Keep chart entries of an earlier publish to the same registry.
	if old, err := imagelock.Load(c.path(c.lock)); err == nil {
		for n, ch := range old.Charts {
			if strings.HasPrefix(ch.Repository, strings.TrimSuffix(c.registry, "/")+"/") {
				if lock.Charts == nil {
					lock.Charts = map[string]imagelock.Chart{}
				}
				lock.Charts[n] = ch
			}
		}
	}
	if err := writeLock(c, lock, stdout); err != nil {
		return nil, err
	}
	return res, nil
}

func writeLock(c config, lock imagelock.Lock, stdout io.Writer) error {
	if err := lock.Save(c.path(c.lock)); err != nil {
		return err
	}
	for _, n := range sortedNames(lock.Images) {
		fmt.Fprintf(stdout, "%s\t%s\n", n, lock.Images[n].Ref())
	}
	var manifests []string
	for _, g := range strings.Split(c.manifests, ",") {
		m, err := filepath.Glob(c.path(strings.TrimSpace(g)))
		if err != nil {
			return fmt.Errorf("--manifests %q: %w", g, err)
		}
		manifests = append(manifests, m...)
	}
	for _, m := range manifests {
		changed, err := bundleimages.Update(m, lock)
		if err != nil {
			return err
		}
		if changed {
			fmt.Fprintf(stdout, "updated images in %s\n", m)
		}
	}
	return nil
}

func publishAll(ctx context.Context, c config, logf func(string, ...any), stdout io.Writer) error {
	if c.registry == "" {
		return errors.New("--registry: required (make publish REGISTRY=host[:port])")
	}
	res, err := build(ctx, c, logf, io.Discard)
	if err != nil {
		return err
	}
	lock, err := res.Lock(c.registry)
	if err != nil {
		return err
	}
	t := publish.Target{Registry: c.registry, Insecure: c.insecure, Out: stdout}
	if err := t.Images(ctx, lock, res.Indexes); err != nil {
		return err
	}
	if !c.noCharts {
		if lock.Charts, err = t.Charts(ctx, c.path(c.charts)); err != nil {
			return fmt.Errorf("--charts: %w", err)
		}
	}
	return writeLock(c, lock, stdout)
}

func verify(ctx context.Context, c config, logf func(string, ...any), stdout io.Writer) error {
	lock, err := imagelock.Load(c.path(c.lock))
	if err != nil {
		return err
	}
	bad, err := imagebuild.Verify(ctx, c.root, lock, c.caCerts, logf)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range bad {
		errs = append(errs, errors.New(m.String()))
	}
	if len(errs) > 0 {
		return fmt.Errorf("this source does not rebuild the digests of %s:\n%w", c.lock, errors.Join(errs...))
	}
	for _, n := range sortedNames(lock.Images) {
		fmt.Fprintf(stdout, "ok\t%s\t%s\n", n, lock.Images[n].Digest)
	}
	return nil
}

func sortedNames(m map[string]imagelock.Image) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
