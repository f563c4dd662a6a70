// Package selfhosted renders the runtime files of a self-hosted mosquitto and daprd — the local
// topology (`make demo`, test/e2e, test/bench) and the workload tests — from the chart profiles
// the bundles install (charts/profiles/<level>): the same chart, the same release, the profile's
// values. Only what a run on loopback must change is overlaid (Local*Values): listener addresses
// and ports, file paths, the parent broker's address, and the generated secrets (passwords,
// certificates, and the local file secret store that carries the broker URL with its password
// where a cluster has a Kubernetes Secret). TestLocalFilesAreTheProfiles (test/charts) renders
// both and fails on any other difference.
package selfhosted

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"

	"github.com/edgeframe/edgeframe/internal/chartrender"
)

// Release is the release of chart in the profile of level (charts/profiles/<level>), with the
// profile's values.
type Release struct {
	Profile chartrender.Profile
	Release chartrender.ProfileRelease
	Values  map[string]any
}

// LoadRelease finds the release of chart in charts/profiles/<level>. A profile must have
// exactly one.
func LoadRelease(chartsDir, level, chart string) (Release, error) {
	p, err := chartrender.LoadProfile(filepath.Join(chartsDir, "profiles", level))
	if err != nil {
		return Release{}, err
	}
	var found []chartrender.ProfileRelease
	for _, r := range p.Releases {
		if r.Chart == chart {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return Release{}, fmt.Errorf("profile %s: %d releases of chart %s, want exactly one", p.Name, len(found), chart)
	}
	vals, err := p.Values(found[0])
	if err != nil {
		return Release{}, err
	}
	return Release{Profile: p, Release: found[0], Values: vals}, nil
}

// Render renders the release with local (the Local*Values overlay) merged over the profile's
// values, as `helm template -f <profile values> -f <local>` would.
func (r Release) Render(ctx context.Context, chartsDir string, local map[string]any) (map[string]string, error) {
	vals := Merge(r.Values, local)
	files, err := chartrender.RenderRelease(ctx, r.Release.ChartDir(chartsDir),
		chartrender.Release{Name: r.Release.Name, Namespace: r.Release.Namespace}, vals)
	if err != nil {
		return nil, fmt.Errorf("profile %s, release %s/%s: %w", r.Profile.Name, r.Release.Namespace, r.Release.Name, err)
	}
	return files, nil
}

// Merge returns base with over merged in: maps merge key by key, anything else in over
// replaces base's value. Neither argument is modified.
func Merge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = Merge(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}
