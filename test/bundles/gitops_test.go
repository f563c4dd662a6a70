package bundles_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
	"github.com/edgeframe/edgeframe/internal/chartrender"
)

// fluxKustomization is one kustomization of an arcflux flux step, templates resolved for a level.
type fluxKustomization struct {
	Where string            // bundle, level and step, for messages
	Path  string            // repository-relative directory, e.g. gitops/l2/apps
	Subst map[string]string // postBuild.substitute
}

// fluxKustomizations lists the kustomizations the install steps of every bundle configure,
// for every level the bundle takes.
func fluxKustomizations(t *testing.T) []fluxKustomization {
	t.Helper()
	var out []fluxKustomization
	for _, b := range loadBundles(t) {
		for _, level := range b.levels() {
			smp := newSamples(t, b, level)
			for _, raw := range b.steps("install") {
				flux, _ := raw.Body["flux"].(map[string]any)
				if raw.Mixin != "arcflux" || flux == nil {
					continue
				}
				list, _ := smp.resolve(t, flux["kustomizations"]).([]any)
				for _, k := range list {
					km, _ := k.(map[string]any)
					fk := fluxKustomization{
						Where: fmt.Sprintf("%s/%s %s", b.Name, level, raw),
						Path:  filepath.Clean(fmt.Sprint(km["path"])),
						Subst: map[string]string{},
					}
					pb, _ := km["postBuild"].(map[string]any)
					sub, _ := pb["substitute"].(map[string]any)
					for n, v := range sub {
						fk.Subst[n] = fmt.Sprint(v)
					}
					out = append(out, fk)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no flux step names a kustomization")
	}
	return out
}

// fluxVarRE matches Flux's postBuild variables: ${name} and ${name:=default}.
var fluxVarRE = regexp.MustCompile(`\$\{([_a-zA-Z][_a-zA-Z0-9]*)(:=([^}]*))?\}`)

// substitute does what Flux's postBuild does with the kustomization's variables; it reports
// the variables that have neither a value nor a default.
func substitute(src string, vars map[string]string) (string, []string) {
	var missing []string
	out := fluxVarRE.ReplaceAllStringFunc(src, func(m string) string {
		sub := fluxVarRE.FindStringSubmatch(m)
		if v, ok := vars[sub[1]]; ok {
			return v
		}
		if sub[2] == "" {
			missing = append(missing, sub[1])
		}
		return sub[3]
	})
	return out, missing
}

// What Flux syncs exists: every kustomization path of a flux step holds a kustomization.yaml
// whose resources are Kubernetes objects; every variable is substituted by the step (or has a
// default); every HelmRelease installs a chart of charts/ at its version, from an OCI
// HelmRepository of the same kustomization, with the charts profile's values, and renders with
// the Helm SDK pinned to the staged bundle's image digests.
func TestGitOpsPathsAreWhatFluxSyncs(t *testing.T) {
	r := root(t)
	images := stagedWorkloadImages(t)
	for _, fk := range fluxKustomizations(t) {
		t.Run(fk.Path, func(t *testing.T) {
			kfile := filepath.Join(r, fk.Path, "kustomization.yaml")
			var kust struct {
				Resources []string `json:"resources"`
			}
			if err := readYAML(kfile, &kust); err != nil {
				t.Fatalf("%s: %v", fk.Where, err)
			}
			if len(kust.Resources) == 0 {
				t.Fatalf("%s lists no resources", kfile)
			}
			objs := map[string]map[string]any{} // kind/namespace/name -> object
			var releases []map[string]any
			for _, res := range kust.Resources {
				p := filepath.Join(r, fk.Path, res)
				src, err := os.ReadFile(p)
				if err != nil {
					t.Errorf("%s: resource %s: %v", kfile, res, err)
					continue
				}
				text, missing := substitute(string(src), fk.Subst)
				for _, v := range missing {
					t.Errorf("%s: ${%s} is neither substituted by %s nor defaulted", p, v, fk.Where)
				}
				var obj map[string]any
				if err := yaml.Unmarshal([]byte(text), &obj); err != nil {
					t.Errorf("%s: %v", p, err)
					continue
				}
				meta, _ := obj["metadata"].(map[string]any)
				if obj["apiVersion"] == nil || obj["kind"] == nil || meta["name"] == nil {
					t.Errorf("%s: not a Kubernetes object (apiVersion, kind, metadata.name)", p)
					continue
				}
				objs[fmt.Sprintf("%v/%v/%v", obj["kind"], meta["namespace"], meta["name"])] = obj
				if obj["apiVersion"] == "helm.toolkit.fluxcd.io/v2" && obj["kind"] == "HelmRelease" {
					releases = append(releases, obj)
				}
			}
			for _, hr := range releases {
				checkHelmRelease(t, fk, hr, objs, images)
			}
		})
	}
}

// checkHelmRelease proves one HelmRelease: chart and version from charts/, source in the
// kustomization, profile values kept, and a render pinned to the staged image digests.
func checkHelmRelease(t *testing.T, fk fluxKustomization, hr map[string]any, objs map[string]map[string]any, images map[string]imagelock.Image) {
	r := root(t)
	meta := hr["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	where := fmt.Sprintf("%s: HelmRelease %s/%v", fk.Path, ns, meta["name"])
	spec, _ := hr["spec"].(map[string]any)
	chartSpec, _ := dig(spec, "chart", "spec").(map[string]any)
	name, _ := chartSpec["chart"].(string)
	var chart struct {
		Version string `json:"version"`
	}
	if err := readYAML(filepath.Join(r, "charts", name, "Chart.yaml"), &chart); name == "" || err != nil {
		t.Errorf("%s: chart %q is not a chart of charts/: %v", where, name, err)
		return
	}
	if v := fmt.Sprint(chartSpec["version"]); v != chart.Version {
		t.Errorf("%s: chart version %q, charts/%s is %s", where, v, name, chart.Version)
	}
	src, _ := chartSpec["sourceRef"].(map[string]any)
	repo := objs[fmt.Sprintf("%v/%s/%v", src["kind"], ns, src["name"])]
	if src["kind"] != "HelmRepository" || repo == nil {
		t.Errorf("%s: sourceRef %v is no HelmRepository of this kustomization in %s", where, src, ns)
	} else if repo["apiVersion"] != "source.toolkit.fluxcd.io/v1" || dig(repo, "spec", "type") != "oci" ||
		!strings.HasPrefix(fmt.Sprint(dig(repo, "spec", "url")), "oci://") {
		t.Errorf("%s: HelmRepository %v is not a source.toolkit.fluxcd.io/v1 oci:// repository", where, src["name"])
	}

	values, _ := spec["values"].(map[string]any)
	level := strings.Split(filepath.ToSlash(fk.Path), "/")[1]
	var profile map[string]any
	if err := readYAML(filepath.Join(r, "charts", "profiles", level, name+".yaml"), &profile); err != nil {
		t.Errorf("%s: %v", where, err)
	} else if !contains(values, profile) {
		t.Errorf("%s: values differ from charts/profiles/%s/%s.yaml", where, level, name)
	}

	release, _ := spec["releaseName"].(string)
	if release == "" {
		release = meta["name"].(string)
	}
	files, err := chartrender.RenderRelease(context.Background(), filepath.Join(r, "charts", name),
		chartrender.Release{Name: release, Namespace: ns}, values)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	all := strings.Join(mapValues(files), "\n")
	for w, img := range images {
		if dig(values, w, "enabled") == true && !strings.Contains(all, img.Ref()) {
			t.Errorf("%s: rendered manifests do not reference %s", where, img.Ref())
		}
	}
}

// dig walks nested maps by key.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// contains reports whether got holds every value of want (maps compared key by key).
func contains(got, want any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(got, want)
	}
	gm, _ := got.(map[string]any)
	for k, w := range wm {
		if g, ok := gm[k]; !ok || !contains(g, w) {
			return false
		}
	}
	return true
}

// readYAML reads one YAML file into v.
func readYAML(path string, v any) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(src, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
