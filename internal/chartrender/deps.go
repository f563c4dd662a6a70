package chartrender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/provenance"
)

// LoadChart loads the chart in dir as `helm dependency build` followed by a load would: every
// dependency of Chart.yaml that is not already under dir/charts and has a file:// repository is
// loaded from that directory (recursively) and attached. Chart.lock must exist and be in sync
// with Chart.yaml, and each dependency's version must be the locked one, so a stale lock fails
// here exactly as it fails `helm dependency build`.
func LoadChart(dir string) (*chart.Chart, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	if err := attachLocalDependencies(ch, dir); err != nil {
		return nil, fmt.Errorf("chart %s: %w", dir, err)
	}
	return ch, nil
}

func attachLocalDependencies(ch *chart.Chart, dir string) error {
	req := ch.Metadata.Dependencies
	if len(req) == 0 {
		return nil
	}
	if ch.Lock == nil {
		return errors.New("chart lock (Chart.lock): missing (run `helm dependency update` on the chart and commit Chart.lock)")
	}
	sum, err := lockDigest(req, ch.Lock.Dependencies)
	if err != nil {
		return fmt.Errorf("chart lock (Chart.lock): %w", err)
	}
	if sum != ch.Lock.Digest {
		return errors.New("chart lock (Chart.lock): out of sync with the dependencies of Chart.yaml (run `helm dependency update` on the chart)")
	}
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	locked := map[string]string{}
	for _, d := range ch.Lock.Dependencies {
		locked[d.Name] = d.Version
	}
	for i, d := range req {
		if have[d.Name] {
			continue // vendored under charts/ (what `helm dependency build` writes)
		}
		if !strings.HasPrefix(d.Repository, "file://") {
			return fmt.Errorf("dependencies[%d] %s: not under charts/ and repository %q is not file:// (run `helm dependency build`)", i, d.Name, d.Repository)
		}
		depDir := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(d.Repository, "file://")))
		dep, err := LoadChart(depDir)
		if err != nil {
			return fmt.Errorf("dependencies[%d] %s: %w", i, d.Name, err)
		}
		if dep.Name() != d.Name {
			return fmt.Errorf("dependencies[%d]: %s holds chart %q, not %q", i, depDir, dep.Name(), d.Name)
		}
		if v := dep.Metadata.Version; v != locked[d.Name] {
			return fmt.Errorf("dependencies[%d] %s: %s is version %s, Chart.lock has %q (run `helm dependency update`)", i, d.Name, depDir, v, locked[d.Name])
		}
		ch.AddDependency(dep)
	}
	return nil
}

// lockDigest is the digest `helm dependency update` writes into Chart.lock (Helm's
// internal/resolver.HashReq: sha256 of the JSON of the requested and the locked dependencies).
func lockDigest(req, lock []*chart.Dependency) (string, error) {
	data, err := json.Marshal([2][]*chart.Dependency{req, lock})
	if err != nil {
		return "", err
	}
	s, err := provenance.Digest(bytes.NewReader(data))
	return "sha256:" + s, err
}

// BuildDependencies runs `helm dependency build` on the chart in dir with the Helm SDK: every
// dependency of Chart.lock is written into dir/charts (file:// repositories are packaged from
// their directory; nothing is downloaded for them). The helm CLI and the helm3 Porter mixin
// need this on a chart directory; LoadChart does not.
func BuildDependencies(dir string, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	settings := cli.New()
	m := downloader.Manager{
		Out:        out,
		ChartPath:  dir,
		SkipUpdate: true,
		Getters:    getter.All(settings),
		// No repositories file: every dependency is file://; a remote one fails with Helm's message.
		RepositoryConfig: filepath.Join(dir, ".no-repositories.yaml"),
		RepositoryCache:  filepath.Join(os.TempDir(), "edgeframe-helm-cache"),
	}
	if err := m.Build(); err != nil {
		return fmt.Errorf("helm dependency build %s: %w", dir, err)
	}
	return nil
}

// StageCharts copies every chart directory (a directory holding Chart.yaml) of chartsDir into
// dst and builds each one's dependencies there, so the copy is what `helm dependency build`
// leaves behind: what the helm CLI, `helm lint` and Porter's helm3 mixin read.
func StageCharts(chartsDir, dst string) error {
	matches, err := filepath.Glob(filepath.Join(chartsDir, "*", "Chart.yaml"))
	if err != nil {
		return err
	}
	if len(matches) == 0 {
		return fmt.Errorf("stage charts: no chart under %s", chartsDir)
	}
	var dirs []string
	for _, m := range matches {
		src := filepath.Dir(m)
		to := filepath.Join(dst, filepath.Base(src))
		// os.CopyFS refuses symbolic links: a chart carries its dependencies through Chart.yaml.
		if err := os.CopyFS(to, os.DirFS(src)); err != nil {
			return fmt.Errorf("stage chart %s: %w", src, err)
		}
		dirs = append(dirs, to)
	}
	for _, d := range dirs {
		if err := BuildDependencies(d, nil); err != nil {
			return err
		}
	}
	return nil
}
