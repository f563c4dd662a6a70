// Package bundles_test proves the Porter bundles (porter.yaml at the root and under
// bundles/*) without a porter binary or Docker: schemas, template references, chart
// renders, Bicep parameters, image digests and the arcflux steps against the SDK fakes.
package bundles_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/build/imagebuild/bundleimages"
	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
	"github.com/edgeframe/edgeframe/build/imagebuild/imagetest"
)

// bundle is one porter.yaml, loaded as generic YAML.
type bundle struct {
	// Name is "all-in-one" for the root manifest, else the directory under bundles/.
	Name string
	// Path is the manifest file; Dir is the directory its relative paths resolve against
	// after `make bundles` staged charts/ and scripts into it.
	Path, Dir string
	M         map[string]any
}

// step is one mixin step of an action.
type step struct {
	Action string
	Index  int // 1-based, like porter's lint locations
	Mixin  string
	Body   map[string]any
}

func (s step) String() string {
	return fmt.Sprintf("%s step %d (%s: %v)", s.Action, s.Index, s.Mixin, s.Body["description"])
}

func root(t testing.TB) string { return imagetest.Root(t) }

func loadBundles(t testing.TB) []bundle {
	t.Helper()
	r := root(t)
	paths := []string{filepath.Join(r, "porter.yaml")}
	more, err := filepath.Glob(filepath.Join(r, "bundles", "*", "porter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, more...)
	var out []bundle
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name := filepath.Base(filepath.Dir(p))
		if filepath.Dir(p) == r {
			name = "all-in-one"
		}
		out = append(out, bundle{Name: name, Path: p, Dir: filepath.Dir(p), M: m})
	}
	want := []string{"all-in-one", "application", "infrastructure", "offline", "platform"}
	var got []string
	for _, b := range out {
		got = append(got, b.Name)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("bundles %v, want %v", got, want)
	}
	return out
}

// actions are the core actions plus the custom actions the bundle declares.
func (b bundle) actions() []string {
	acts := []string{"install", "upgrade", "uninstall"}
	if ca, ok := b.M["customActions"].(map[string]any); ok {
		var names []string
		for n := range ca {
			names = append(names, n)
		}
		sort.Strings(names)
		acts = append(acts, names...)
	}
	return acts
}

// mixinActions is the "actions" document Porter sends a mixin's build and lint: each action
// with the list of that mixin's steps, actions without one left out.
func (b bundle) mixinActions(mixin string) map[string]any {
	actions := map[string]any{}
	for _, a := range b.actions() {
		var list []any
		for _, s := range b.steps(a) {
			if s.Mixin == mixin {
				list = append(list, map[string]any{mixin: s.Body})
			}
		}
		if len(list) > 0 {
			actions[a] = list
		}
	}
	return actions
}

func (b bundle) steps(action string) []step {
	list, _ := b.M[action].([]any)
	var out []step
	for i, raw := range list {
		m, _ := raw.(map[string]any)
		for mixin, body := range m {
			bm, _ := body.(map[string]any)
			if mixin == "helm3" {
				bm = helmArgs(bm)
			}
			out = append(out, step{Action: action, Index: i + 1, Mixin: mixin, Body: bm})
		}
	}
	return out
}

func (b bundle) allSteps() []step {
	var out []step
	for _, a := range b.actions() {
		out = append(out, b.steps(a)...)
	}
	return out
}

// named returns the entries of a top-level list (parameters, credentials, outputs) by name.
func (b bundle) named(key string) map[string]map[string]any {
	out := map[string]map[string]any{}
	list, _ := b.M[key].([]any)
	for _, raw := range list {
		m, _ := raw.(map[string]any)
		if n, ok := m["name"].(string); ok {
			out[n] = m
		}
	}
	return out
}

func (b bundle) images() map[string]map[string]any {
	out := map[string]map[string]any{}
	imgs, _ := b.M["images"].(map[string]any)
	for n, raw := range imgs {
		m, _ := raw.(map[string]any)
		out[n] = m
	}
	return out
}

// appliesTo reports whether a parameter/credential/output entry applies to action.
func appliesTo(entry map[string]any, action string) bool {
	list, ok := entry["applyTo"].([]any)
	if !ok {
		return true
	}
	for _, a := range list {
		if a == action {
			return true
		}
	}
	return false
}

// stepOutputs lists the output names a step produces.
func (s step) outputs() []string {
	var out []string
	list, _ := s.Body["outputs"].([]any)
	for _, raw := range list {
		m, _ := raw.(map[string]any)
		if n, ok := m["name"].(string); ok {
			out = append(out, n)
		}
	}
	return out
}

// templateRE matches porter's ${ bundle.<kind>.<rest> } templates.
var templateRE = regexp.MustCompile(`\$\{\s*bundle\.([a-z]+)\.([^}\s]+)\s*\}`)

// templates returns every template in a value tree as (kind, rest).
func templates(v any) [][2]string {
	var out [][2]string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			for _, m := range templateRE.FindAllStringSubmatch(x, -1) {
				out = append(out, [2]string{m[1], m[2]})
			}
		case map[string]any:
			for k, e := range x {
				walk(k)
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// samples resolves templates with sample values, as porter would at run time.
type samples struct {
	params, creds, outputs map[string]string
	// workloads are the workload images as a staged manifest names them (stagedWorkloadImages).
	workloads map[string]imagelock.Image
	// thirdParty are the bundle's third-party images entries (name → repository, digest).
	thirdParty map[string]map[string]any
}

// relocatedRegistry prefixes the third-party images' repositories when templates resolve, as
// `porter publish --registry` relocates them: a rendered chart shows whether the bundle's
// images entry reached it or the chart's own default did.
const relocatedRegistry = "mirror.example/"

// sampleParams are values for the parameters that have no default.
var sampleParams = map[string]string{
	"resource-group":        "rg-edge-l3",
	"cluster-name":          "edge-l3",
	"connected-cluster-id":  "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-edge-l3/providers/Microsoft.Kubernetes/connectedClusters/edge-l3",
	"parent-proxy-address":  "10.4.0.200",
	"parent-broker-address": "10.4.0.200:8883",
	"parent-vnet-id":        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-edge-l4/providers/Microsoft.Network/virtualNetworks/vnet-edge-l4",
	"oidc-issuer-url":       "https://oidc.example/issuer/",
	"gateway-client-id":     "11111111-2222-3333-4444-555555555555",
}

func newSamples(t testing.TB, b bundle, level string) samples {
	t.Helper()
	s := samples{params: map[string]string{}, creds: map[string]string{}, outputs: map[string]string{}, thirdParty: map[string]map[string]any{}}
	for n, img := range b.images() {
		if labels, _ := img["labels"].(map[string]any); labels[bundleimages.ThirdPartyLabel] == "third-party" {
			s.thirdParty[n] = img
		}
	}
	for n, p := range b.named("parameters") {
		switch {
		case n == "level":
			s.params[n] = level
		case sampleParams[n] != "":
			s.params[n] = sampleParams[n]
		case p["default"] != nil:
			s.params[n] = fmt.Sprint(p["default"])
		default:
			t.Fatalf("%s: parameter %s has no default and no sample value", b.Name, n)
		}
	}
	for n := range b.named("credentials") {
		s.creds[n] = "sample-" + n
	}
	s.creds["azure-subscription-id"] = "00000000-0000-0000-0000-000000000001"
	for _, st := range b.allSteps() {
		for _, o := range st.outputs() {
			s.outputs[o] = "sample-" + o
		}
	}
	s.workloads = stagedWorkloadImages(t)
	return s
}

// resolve substitutes every template in v (a copy is returned).
func (s samples) resolve(t testing.TB, v any) any {
	t.Helper()
	switch x := v.(type) {
	case string:
		return templateRE.ReplaceAllStringFunc(x, func(m string) string {
			sub := templateRE.FindStringSubmatch(m)
			kind, rest := sub[1], sub[2]
			var val string
			var ok bool
			switch kind {
			case "parameters":
				val, ok = s.params[rest]
			case "credentials":
				val, ok = s.creds[rest]
			case "outputs":
				val, ok = s.outputs[rest]
			case "images":
				name, field, _ := strings.Cut(rest, ".")
				img, found := s.workloads[name]
				if tp, isTP := s.thirdParty[name]; isTP {
					img, found = imagelock.Image{Repository: relocatedRegistry + fmt.Sprint(tp["repository"]), Digest: fmt.Sprint(tp["digest"])}, true
				}
				ok = found
				switch field {
				case "repository":
					val = img.Repository
				case "digest":
					val = img.Digest
				default:
					ok = false
				}
			}
			if !ok {
				t.Fatalf("template %s does not resolve", m)
			}
			return val
		})
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[s.resolve(t, k).(string)] = s.resolve(t, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.resolve(t, e)
		}
		return out
	}
	return v
}

// levels are the values a bundle's level parameter takes ("" when it has none).
func (b bundle) levels() []string {
	p, ok := b.named("parameters")["level"]
	if !ok {
		return []string{""}
	}
	var out []string
	for _, l := range p["enum"].([]any) {
		out = append(out, l.(string))
	}
	return out
}

// localPath maps a path relative to the bundle directory to the repository: `make bundles`
// stages charts/ and bundles/scripts/ into each bundle directory.
func (b bundle) localPath(t testing.TB, p string) string {
	r := root(t)
	p = strings.TrimPrefix(p, "./")
	if b.Name == "all-in-one" {
		return filepath.Join(r, p)
	}
	switch {
	case strings.HasPrefix(p, "charts/"):
		return filepath.Join(r, p)
	case strings.HasPrefix(p, "scripts/"):
		return filepath.Join(r, "bundles", p)
	}
	return filepath.Join(b.Dir, p)
}

// helmArgs turns the helm3 mixin's generic form (custom actions: helm <arguments>) into the
// install/uninstall form, so every check reads one shape:
//
//	upgrade --install NAME CHART [--namespace NS] [--values F]... [--set k=v]...
//	uninstall NAME... [--namespace NS]
func helmArgs(body map[string]any) map[string]any {
	args, ok := body["arguments"].([]any)
	if !ok {
		return body
	}
	out := map[string]any{"description": body["description"], "arguments": args}
	var pos []any
	values, set := []any{}, map[string]any{}
	for i := 0; i < len(args); i++ {
		a := fmt.Sprint(args[i])
		next := func() string {
			i++
			if i < len(args) {
				return fmt.Sprint(args[i])
			}
			return ""
		}
		switch a {
		case "--namespace", "-n":
			out["namespace"] = next()
		case "--values", "-f":
			values = append(values, next())
		case "--set":
			k, v, _ := strings.Cut(next(), "=")
			set[k] = v
		case "--version":
			out["version"] = next()
		default:
			if !strings.HasPrefix(a, "-") {
				pos = append(pos, a)
			}
		}
	}
	if len(pos) > 0 && pos[0] == "uninstall" {
		out["releases"] = pos[1:]
		return out
	}
	if len(pos) == 3 && pos[0] == "upgrade" {
		out["name"], out["chart"], out["values"], out["set"] = pos[1], pos[2], values, set
	}
	return out
}
