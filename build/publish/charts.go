// Package publish is where release artifacts leave the build: it packages the edgeframe
// charts for a Helm repository (chart archives plus index.yaml) and pushes them to an OCI
// registry with the Helm SDK (Package, PushOCI), and pushes the workload images
// (multi-platform indexes, by digest and tagged with the version) and the charts as OCI
// artifacts to a registry, reporting the digests the registry holds (Target).
package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
)

// Package writes one archive per application chart under chartsDir into outDir (library
// dependencies embedded, as `helm package` does) and an index.yaml whose URLs start with
// baseURL ("" = relative). It returns the archive paths.
func Package(ctx context.Context, chartsDir, outDir, baseURL string) ([]string, error) {
	dirs, err := chartrender.Charts(chartsDir)
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("package: no charts under %s", chartsDir)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	var out []string
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ch, err := chartrender.LoadChart(d)
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", d, err)
		}
		if err := ch.Validate(); err != nil {
			return nil, fmt.Errorf("package %s: %w", d, err)
		}
		p, err := chartutil.Save(ch, outDir)
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", d, err)
		}
		out = append(out, p)
	}
	idx, err := repo.IndexDirectory(outDir, baseURL)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", outDir, err)
	}
	idx.SortEntries()
	if err := idx.WriteFile(filepath.Join(outDir, "index.yaml"), 0o644); err != nil {
		return nil, fmt.Errorf("index %s: %w", outDir, err)
	}
	return out, nil
}

// PushOptions configures PushOCI.
type PushOptions struct {
	// PlainHTTP talks HTTP instead of HTTPS to the registry.
	PlainHTTP bool
}

// PushOCI pushes chart archives to an OCI registry: ref "oci://host[:port]/path" receives
// each chart as <path>/<name>:<version>. It returns the pushed references.
func PushOCI(ctx context.Context, archives []string, ref string, opt PushOptions) ([]string, error) {
	if !strings.HasPrefix(ref, "oci://") {
		return nil, fmt.Errorf("push: reference %q must start with oci://", ref)
	}
	base := strings.TrimSuffix(strings.TrimPrefix(ref, "oci://"), "/")
	var opts []registry.ClientOption
	if opt.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("push: registry client: %w", err)
	}
	var pushed []string
	var errs []error
	for _, a := range archives {
		if err := ctx.Err(); err != nil {
			return pushed, err
		}
		ch, err := loader.Load(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("push %s: %w", a, err))
			continue
		}
		data, err := os.ReadFile(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("push %s: %w", a, err))
			continue
		}
		target := fmt.Sprintf("%s/%s:%s", base, ch.Name(), ch.Metadata.Version)
		if _, err := client.Push(data, target); err != nil {
			errs = append(errs, fmt.Errorf("push %s to %s: %w", a, target, err))
			continue
		}
		pushed = append(pushed, target)
	}
	return pushed, errors.Join(errs...)
}
