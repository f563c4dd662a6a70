// Package chartrender renders the edgeframe Helm charts with the Helm SDK, exactly as `helm template`
// would (values.schema.json validation, library dependencies, strict templates), so the local
// topology and the tests use the same configuration as a cluster install.
package chartrender

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// Release names the release a chart is rendered for.
type Release struct {
	// Name is the release name (default: the chart name).
	Name string
	// Namespace is the release namespace (default: "default").
	Namespace string
}

// Render renders the chart in chartDir with values (merged over the chart's values.yaml) for a
// release named like the chart in namespace "default". The result maps each non-empty rendered
// file, relative to the chart ("templates/configmap.yaml", "templates/NOTES.txt"), to its text.
func Render(ctx context.Context, chartDir string, values map[string]any) (map[string]string, error) {
	return RenderRelease(ctx, chartDir, Release{}, values)
}

// RenderRelease is Render for a named release in a namespace.
func RenderRelease(ctx context.Context, chartDir string, rel Release, values map[string]any) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch, err := LoadChart(chartDir)
	if err != nil {
		return nil, err
	}
	return RenderChart(ch, rel, values)
}

// RenderChart renders an already loaded chart.
func RenderChart(ch *chart.Chart, rel Release, values map[string]any) (map[string]string, error) {
	if rel.Name == "" {
		rel.Name = ch.Name()
	}
	if rel.Namespace == "" {
		rel.Namespace = "default"
	}
	if values == nil {
		values = map[string]any{}
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, values); err != nil {
		return nil, fmt.Errorf("chart %s: dependencies: %w", ch.Name(), err)
	}
	top, err := chartutil.ToRenderValues(ch, values,
		chartutil.ReleaseOptions{Name: rel.Name, Namespace: rel.Namespace, Revision: 1, IsInstall: true}, nil)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ch.Name(), err)
	}
	out, err := engine.Engine{Strict: true}.Render(ch, top)
	if err != nil {
		return nil, fmt.Errorf("chart %s: render: %w", ch.Name(), err)
	}
	files := make(map[string]string, len(out))
	prefix := ch.Name() + "/"
	for name, text := range out {
		if strings.TrimSpace(text) == "" {
			continue
		}
		files[strings.TrimPrefix(name, prefix)] = text
	}
	return files, nil
}

// Manifests joins the rendered Kubernetes manifests (every .yaml/.yml/.json file, in name
// order, NOTES.txt excluded) into one multi-document YAML stream.
func Manifests(files map[string]string) string {
	names := make([]string, 0, len(files))
	for name := range files {
		switch path.Ext(name) {
		case ".yaml", ".yml", ".json":
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, strings.TrimSpace(files[name]))
	}
	return b.String()
}

// Lint runs the Helm linter (as `helm lint --strict`: every warning is an error) on the chart
// in chartDir with the given values, in namespace. Like chart-testing's `ct lint`, it lints a
// copy of the charts with their dependencies built (`helm dependency build`), so the source
// tree is never written to.
func Lint(chartDir, namespace string, values map[string]any) error {
	if values == nil {
		values = map[string]any{}
	}
	tmp, err := os.MkdirTemp("", "edgeframe-lint-")
	if err != nil {
		return fmt.Errorf("lint %s: %w", chartDir, err)
	}
	defer os.RemoveAll(tmp)
	if err := StageCharts(filepath.Dir(chartDir), tmp); err != nil {
		return fmt.Errorf("lint %s: %w", chartDir, err)
	}
	l := lint.All(filepath.Join(tmp, filepath.Base(chartDir)), values, namespace, true)
	var errs []error
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			errs = append(errs, fmt.Errorf("%s", m.Error()))
		}
	}
	return errors.Join(errs...)
}
