package porterschema_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
	"github.com/edgeframe/edgeframe/test/porterschema"
)

// schemasDir is porter's schemas directory (porterschema.Dir).
func schemasDir(t *testing.T) string {
	t.Helper()
	dir, err := porterschema.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func mixins(t *testing.T) []porterschema.Mixin {
	t.Helper()
	out, err := porterschema.ShippedMixins()
	if err != nil {
		t.Fatal(err)
	}
	return append(out, porterschema.Mixin{Name: "arcflux", Schema: arcflux.Schema()})
}

func validator(t *testing.T) *porterschema.Validator {
	t.Helper()
	v, err := porterschema.LoadShipped(porterschema.Mixin{Name: "arcflux", Schema: arcflux.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMergeFollowsPorter(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(schemasDir(t), porterschema.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := porterschema.Merge(b, mixins(t)...)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(merged)
	s := string(raw)
	for _, want := range []string{
		`"#/mixin.arcflux/definitions/installStep"`, `"#/mixin.arcflux/definitions/upgradeStep"`,
		`"#/mixin.arcflux/definitions/uninstallStep"`, `"#/mixin.arcflux/definitions/invokeStep"`,
		`"#/mixin.arcflux/definitions/config"`, `"#/mixin.arcflux/definitions/connect"`,
		`"#/mixin.helm3/definitions/installStep"`, `"#/mixin.exec/definitions/invokeStep"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("merged schema lacks %s", want)
		}
	}
	if strings.Contains(s, `"#/definitions/connect"`) {
		t.Error("a relative arcflux ref was not rewritten")
	}
	enum := merged["properties"].(map[string]any)["mixins"].(map[string]any)["items"].(map[string]any)["oneOf"].([]any)[0].(map[string]any)["enum"]
	if got, _ := json.Marshal(enum); string(got) != `["exec","helm3","az","arcflux"]` {
		t.Errorf("mixin enum = %s", got)
	}
	anyOf := merged["properties"].(map[string]any)["install"].(map[string]any)["items"].(map[string]any)["anyOf"].([]any)
	if len(anyOf) != 4 {
		t.Errorf("install anyOf has %d refs, want 4", len(anyOf))
	}
}

func TestMergeRejectsSchemaWithoutSteps(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join(schemasDir(t), porterschema.ManifestFile))
	_, err := porterschema.Merge(b, porterschema.Mixin{Name: "broken", Schema: []byte(`{"definitions":{"installStep":{}}}`)})
	if err == nil || !strings.Contains(err.Error(), "definitions.upgradeStep missing") {
		t.Fatalf("err = %v", err)
	}
}

func TestExampleManifestsValidate(t *testing.T) {
	v := validator(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "manifests", "*.yaml"))
	if len(files) < 2 {
		t.Fatalf("example manifests: %v", files)
	}
	for _, f := range files {
		if err := v.ValidateFile(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// bad steps: each replaces the first install step of the L3 example.
func TestBadStepsAreRejected(t *testing.T) {
	v := validator(t)
	base, err := os.ReadFile(filepath.Join("testdata", "manifests", "porter-l3-site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, step string
		action     string
	}{
		{"no description", `{arcflux: {connect: {resourceGroup: rg, clusterName: c}}}`, "install"},
		{"empty description", `{arcflux: {description: "", connect: {resourceGroup: rg, clusterName: c}}}`, "install"},
		{"no command", `{arcflux: {description: d}}`, "install"},
		{"two commands", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c}, flux: {resourceGroup: rg, clusterName: c, name: f, gitRepository: {url: u}}}}`, "install"},
		{"unknown step field", `{arcflux: {description: d, retries: 3, connect: {resourceGroup: rg, clusterName: c}}}`, "install"},
		{"unknown connect field", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c, region: westeurope}}}`, "install"},
		{"connect without clusterName", `{arcflux: {description: d, connect: {resourceGroup: rg}}}`, "install"},
		{"tags not strings", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c, tags: {a: [1]}}}}`, "install"},
		{"timeout not a duration", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c, timeout: "10 minutes"}}}`, "install"},
		{"agentChart without location", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c, agentChart: {plainHTTP: true}}}}`, "install"},
		{"flux without source", `{arcflux: {description: d, flux: {resourceGroup: rg, clusterName: c, name: f}}}`, "install"},
		{"flux with two sources", `{arcflux: {description: d, flux: {resourceGroup: rg, clusterName: c, name: f, gitRepository: {url: u}, bucket: {url: u, bucketName: b}}}}`, "install"},
		{"flux bad scope", `{arcflux: {description: d, flux: {resourceGroup: rg, clusterName: c, name: f, scope: global, gitRepository: {url: u}}}}`, "install"},
		{"kustomization without name", `{arcflux: {description: d, flux: {resourceGroup: rg, clusterName: c, name: f, gitRepository: {url: u}, kustomizations: [{path: ./}]}}}`, "install"},
		{"kustomization bad name", `{arcflux: {description: d, flux: {resourceGroup: rg, clusterName: c, name: f, gitRepository: {url: u}, kustomizations: [{name: Apps}]}}}`, "install"},
		{"substituteFrom bad kind", `{arcflux: {description: d, flux: {resourceGroup: rg, clusterName: c, name: f, gitRepository: {url: u}, kustomizations: [{name: a, postBuild: {substituteFrom: [{kind: Pod, name: x}]}}]}}}`, "install"},
		{"status in install", `{arcflux: {description: d, status: {resourceGroup: rg, clusterName: c}}}`, "install"},
		{"output without jsonPath", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c}, outputs: [{name: id}]}}`, "install"},
		{"output with regex", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c}, outputs: [{name: id, regex: ".*"}]}}`, "install"},
		{"ignoreError exitCodes", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c}, ignoreError: {exitCodes: [1]}}}`, "install"},
		{"suppress-output not bool", `{arcflux: {description: d, connect: {resourceGroup: rg, clusterName: c}, suppress-output: "yes"}}`, "install"},
		{"status unknown field in custom action", `{arcflux: {description: d, status: {resourceGroup: rg, clusterName: c, verbose: true}}}`, "status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			if err := yaml.Unmarshal(base, &doc); err != nil {
				t.Fatal(err)
			}
			var step any
			if err := yaml.Unmarshal([]byte(tc.step), &step); err != nil {
				t.Fatal(err)
			}
			steps := doc[tc.action].([]any)
			steps[0] = step
			out, _ := yaml.Marshal(doc)
			if err := v.ValidateYAML(out); err == nil {
				t.Fatalf("step %s was accepted", tc.step)
			}
		})
	}
	// and the unmodified manifest passes, so each failure above is the step's doing
	if err := v.ValidateYAML(base); err != nil {
		t.Fatal(err)
	}
}

func TestMixinDeclarationMustBeKnown(t *testing.T) {
	v := validator(t)
	doc := []byte("schemaVersion: 1.0.1\nname: x\nversion: 0.1.0\nregistry: r\nmixins: [arcflux, kubernetes]\ninstall: []\nupgrade: []\nuninstall: []\n")
	if err := v.ValidateYAML(doc); err == nil {
		t.Fatal("undeclared mixin kubernetes accepted")
	}
	doc = []byte("schemaVersion: 1.0.1\nname: x\nversion: 0.1.0\nregistry: r\nmixins: [{arcflux: {caCertificates: 3}}]\ninstall: []\nupgrade: []\nuninstall: []\n")
	if err := v.ValidateYAML(doc); err == nil {
		t.Fatal("bad arcflux config accepted")
	}
}
