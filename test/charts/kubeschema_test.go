package charts

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Module versions the offline schemas come from.
const (
	kubernetesModule = "k8s.io/kubernetes@v1.37.2"
	daprModule       = "github.com/dapr/dapr@v1.18.0"
)

// moduleDir returns the module's directory in the module cache, downloading it if needed.
func moduleDir(t testing.TB, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", mod, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: no Dir in %s", mod, out)
	}
	return m.Dir
}

// writeKubeSchemas converts the Kubernetes OpenAPI v2 document (swagger.json) into one JSON
// schema per kind, named as kubeconform looks them up ("<kind>-<group>-<version>.json",
// core: "<kind>-<version>.json"), each with the transitive closure of its definitions.
// Objects get additionalProperties: false so unknown fields are errors (kubeconform -strict).
func writeKubeSchemas(t testing.TB, swaggerPath, out string) int {
	t.Helper()
	b, err := os.ReadFile(swaggerPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", swaggerPath, err)
	}
	intOrString := map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	doc.Definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = intOrString
	for _, d := range doc.Definitions {
		normalise(d, intOrString)
	}
	n := 0
	for name, def := range doc.Definitions {
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk := g.(map[string]any)
			kind, group, version := gvk["kind"].(string), gvk["group"].(string), gvk["version"].(string)
			if strings.HasSuffix(kind, "List") {
				continue
			}
			closure := map[string]any{}
			collectRefs(def, doc.Definitions, closure)
			closure[name] = def
			schema := map[string]any{"$ref": "#/definitions/" + name, "definitions": closure}
			writeSchema(t, out, kind, group, version, schema)
			n++
		}
	}
	return n
}

// writeCRDSchemas writes a schema per served version of every CRD in dir.
func writeCRDSchemas(t testing.TB, dir, out string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range crd.Spec.Versions {
			s := v.Schema.OpenAPIV3Schema
			if s == nil {
				continue
			}
			normalise(s, nil)
			writeSchema(t, out, crd.Spec.Names.Kind, crd.Spec.Group, v.Name, s)
			n++
		}
	}
	return n
}

func writeSchema(t testing.TB, out, kind, group, version string, schema map[string]any) {
	t.Helper()
	name := strings.ToLower(kind)
	if group != "" {
		name += "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	name += "-" + strings.ToLower(version) + ".json"
	b, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// normalise replaces int-or-string formats and closes objects with properties.
func normalise(s map[string]any, intOrString map[string]any) {
	if s["format"] == "int-or-string" || s["x-kubernetes-int-or-string"] == true {
		delete(s, "type")
		delete(s, "format")
		s["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		if _, has := s["additionalProperties"]; !has && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
		for _, p := range props {
			if pm, ok := p.(map[string]any); ok {
				normalise(pm, intOrString)
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if m, ok := s[k].(map[string]any); ok {
			normalise(m, intOrString)
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		if l, ok := s[k].([]any); ok {
			for _, e := range l {
				if m, ok := e.(map[string]any); ok {
					normalise(m, intOrString)
				}
			}
		}
	}
}

// collectRefs adds every definition s refers to, transitively. Only string "$ref" values are
// references: JSONSchemaProps has a property literally named "$ref" whose value is an object.
func collectRefs(s any, defs map[string]map[string]any, into map[string]any) {
	switch v := s.(type) {
	case map[string]any:
		for k, e := range v {
			if ref, ok := e.(string); ok && k == "$ref" {
				name := strings.TrimPrefix(ref, "#/definitions/")
				if _, seen := into[name]; !seen {
					if d, ok := defs[name]; ok {
						into[name] = d
						collectRefs(d, defs, into)
					}
				}
				continue
			}
			collectRefs(e, defs, into)
		}
	case []any:
		for _, e := range v {
			collectRefs(e, defs, into)
		}
	}
}

// kubeSchemas generates the offline schema directory for kubeconform.
func kubeSchemas(t testing.TB) string {
	t.Helper()
	out := t.TempDir()
	n := writeKubeSchemas(t, filepath.Join(moduleDir(t, kubernetesModule), "api", "openapi-spec", "swagger.json"), out)
	m := writeCRDSchemas(t, filepath.Join(moduleDir(t, daprModule), "charts", "dapr", "crds"), out)
	if n < 100 || m < 5 {
		t.Fatalf("generated %d Kubernetes and %d Dapr schemas: too few", n, m)
	}
	return out
}

// kubeconform runs the real kubeconform on files and returns its JSON summary.
func kubeconform(t *testing.T, schemas string, files ...string) (valid, invalid, errs, skipped int, out string) {
	t.Helper()
	bin := toolOrSkip(t, "kubeconform")
	args := append([]string{"-strict", "-summary", "-output", "json",
		"-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json")}, files...)
	cmd := exec.Command(bin, args...)
	b, _ := cmd.CombinedOutput()
	var res struct {
		Summary struct {
			Valid, Invalid, Errors, Skipped int
		} `json:"summary"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("kubeconform output is not JSON: %v\n%s", err, b)
	}
	s := res.Summary
	return s.Valid, s.Invalid, s.Errors, s.Skipped, string(b)
}

// TestKubeconform validates every profile's manifests with kubeconform against schemas
// generated offline from the Kubernetes and Dapr modules, and checks that a broken manifest
// is rejected.
func TestKubeconform(t *testing.T) {
	schemas := kubeSchemas(t)
	dir := t.TempDir()
	var files []string
	total := 0
	for _, p := range profiles(t) {
		for _, r := range p.Releases {
			objs := objects(t, manifestsOf(renderRelease(t, p, r)))
			total += len(objs)
			f := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.yaml", p.Name, r.Namespace, r.Name))
			if err := os.WriteFile(f, []byte(manifestsOf(renderRelease(t, p, r))), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	valid, invalid, errs, skipped, out := kubeconform(t, schemas, files...)
	if invalid != 0 || errs != 0 || skipped != 0 || valid != total {
		t.Fatalf("kubeconform: %d valid of %d, %d invalid, %d errors, %d skipped\n%s", valid, total, invalid, errs, skipped, out)
	}
	t.Logf("kubeconform: %d resources valid", valid)

	bad := filepath.Join(dir, "bad.yaml")
	write(t, bad, []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replica: 1
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
`))
	if _, invalid, _, _, out := kubeconform(t, schemas, bad); invalid != 1 {
		t.Fatalf("kubeconform accepted spec.replica (a typo):\n%s", out)
	}
}
