package bundles_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/internal/chartrender"
)

// helmValues builds what `helm upgrade --install -f v1 -f v2 --set k=v` passes to the chart.
func helmValues(t *testing.T, b bundle, s step) (map[string]any, error) {
	vals := map[string]any{}
	files, _ := s.Body["values"].([]any)
	for _, f := range files {
		p := b.localPath(t, f.(string))
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(src, &m); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		vals = chartutil.MergeTables(m, vals)
	}
	set, _ := s.Body["set"].(map[string]any)
	for k, v := range set {
		if err := strvals.ParseInto(fmt.Sprintf("%s=%v", k, v), vals); err != nil {
			return nil, fmt.Errorf("set %s: %w", k, err)
		}
	}
	return vals, nil
}

// Every chart a step names exists and renders (schema-validated, strict templates) with the
// values the step sets, for every level, with porter's templates replaced by sample values.
func TestStepChartsRenderWithTheirValues(t *testing.T) {
	ctx := context.Background()
	for _, b := range loadBundles(t) {
		for _, level := range b.levels() {
			t.Run(b.Name+"/"+level, func(t *testing.T) {
				smp := newSamples(t, b, level)
				rendered := 0
				for _, raw := range b.allSteps() {
					if raw.Mixin != "helm3" || raw.Body["chart"] == nil || raw.Action == "upgrade" {
						continue
					}
					s := raw
					s.Body = smp.resolve(t, raw.Body).(map[string]any)
					chart := s.Body["chart"].(string)
					if !strings.HasPrefix(chart, "./") {
						checkRemoteChart(t, b, s, chart)
						continue
					}
					vals, err := helmValues(t, b, s)
					if err != nil {
						t.Errorf("%s: %v", raw, err)
						continue
					}
					files, err := chartrender.RenderRelease(ctx, b.localPath(t, chart),
						chartrender.Release{Name: s.Body["name"].(string), Namespace: s.Body["namespace"].(string)}, vals)
					if err != nil {
						t.Errorf("%s: %v", raw, err)
						continue
					}
					rendered++
					checkImageDigests(t, raw, s, vals, files)
					checkImagesRelocatable(t, raw, files)
				}
				if rendered == 0 {
					t.Fatal("no chart rendered")
				}
			})
		}
	}
}

// A chart from a repository is pinned and its repository is declared in the helm3 config.
func checkRemoteChart(t *testing.T, b bundle, s step, chart string) {
	repo, _, ok := strings.Cut(chart, "/")
	if !ok {
		t.Errorf("%s: chart %q is neither ./charts/<name> nor <repo>/<name>", s, chart)
		return
	}
	if v, _ := s.Body["version"].(string); v == "" {
		t.Errorf("%s: chart %s is not pinned to a version", s, chart)
	}
	for _, m := range b.M["mixins"].([]any) {
		decl, _ := m.(map[string]any)
		if h, ok := decl["helm3"].(map[string]any); ok {
			if repos, ok := h["repositories"].(map[string]any); ok && repos[repo] != nil {
				return
			}
		}
	}
	t.Errorf("%s: helm repository %q is not declared in the helm3 mixin config", s, repo)
}

// Where a step passes image digests, the rendered Deployments reference repository@digest.
func checkImageDigests(t *testing.T, raw, s step, vals map[string]any, files map[string]string) {
	set, _ := raw.Body["set"].(map[string]any)
	resolved, _ := s.Body["set"].(map[string]any)
	all := strings.Join(mapValues(files), "\n")
	for k, v := range set {
		if !strings.HasSuffix(k, ".image.digest") || !strings.Contains(fmt.Sprint(v), "bundle.images.") {
			continue
		}
		workload := strings.TrimSuffix(k, ".image.digest")
		if w, _ := vals[workload].(map[string]any); w == nil || w["enabled"] != true {
			continue // a disabled workload renders nothing
		}
		ref := fmt.Sprint(resolved[workload+".image.repository"]) + "@" + fmt.Sprint(resolved[k])
		if !strings.Contains(all, ref) {
			t.Errorf("%s: rendered manifests do not reference %s", raw, ref)
		}
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

var imageLineRE = regexp.MustCompile(`(?m)^\s*(?:-\s*)?image:\s*"?([^"\s]+)"?\s*$`)

// Every image a chart step deploys (Deployments and hook Jobs alike) is pinned by digest and
// comes from the bundle's images entries — a workload's staged image or a third-party one
// relocated to relocatedRegistry — so `porter archive`/`publish` carry and relocate all of them.
func checkImagesRelocatable(t *testing.T, raw step, files map[string]string) {
	for name, text := range files {
		for _, m := range imageLineRE.FindAllStringSubmatch(text, -1) {
			ref := m[1]
			if !strings.Contains(ref, "@sha256:") {
				t.Errorf("%s: %s deploys image %s, not pinned by digest", raw, name, ref)
				continue
			}
			if !strings.HasPrefix(ref, relocatedRegistry) && !strings.Contains(ref, "/edgeframe/") {
				t.Errorf("%s: %s deploys image %s, which is not one of the bundle's images entries (porter would not relocate it)", raw, name, ref)
			}
		}
	}
}
