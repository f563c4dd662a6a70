package bundles_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/test/porterschema"
	"github.com/edgeframe/edgeframe/test/testkit"
)

func schemasDir(t testing.TB) string {
	t.Helper()
	dir, err := porterschema.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

var arcfluxSchema struct {
	once sync.Once
	b    []byte
	err  error
}

// arcfluxSchemaDoc builds the arcflux mixin and returns what `arcflux schema` prints.
func arcfluxSchemaDoc(t testing.TB) []byte {
	t.Helper()
	arcfluxSchema.once.Do(func() {
		dir, err := os.MkdirTemp("", "arcflux-")
		if err != nil {
			arcfluxSchema.err = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "arcflux")
		cmd := exec.Command("go", "build", "-o", bin, "./mixin/cmd/arcflux")
		cmd.Dir = root(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			arcfluxSchema.err = err
			arcfluxSchema.b = out
			return
		}
		arcfluxSchema.b, arcfluxSchema.err = exec.Command(bin, "schema").Output()
	})
	if arcfluxSchema.err != nil {
		t.Fatalf("arcflux schema: %v\n%s", arcfluxSchema.err, arcfluxSchema.b)
	}
	return arcfluxSchema.b
}

func manifestValidator(t testing.TB) *porterschema.Validator {
	t.Helper()
	testkit.SkipShort(t, "porter's manifest schema with every mixin's compiled (8 s and more)")
	v, err := porterschema.LoadShipped(porterschema.Mixin{Name: "arcflux", Schema: arcfluxSchemaDoc(t)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestManifestsValidateAgainstPorterSchemaWithMixins(t *testing.T) {
	v := manifestValidator(t)
	for _, b := range loadBundles(t) {
		t.Run(b.Name, func(t *testing.T) {
			if err := v.ValidateFile(b.Path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The validator must reject what porter rejects, or the test above proves nothing.
func TestManifestValidatorRejectsBadSteps(t *testing.T) {
	v := manifestValidator(t)
	src, err := os.ReadFile(filepath.Join(root(t), "bundles", "platform", "porter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ old, new string }{
		"step without description": {`description: "Install the Dapr control plane (pinned chart version)"`, `wait: true`},
		"unknown arcflux field":    {`name: edge-platform`, "name: edge-platform\n        colour: blue"},
		"undeclared mixin":         {"  - arcflux\n", "  - kubernetes\n"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(src), c.old) {
				t.Fatalf("fixture text %q not in the platform manifest", c.old)
			}
			bad := strings.Replace(string(src), c.old, c.new, 1)
			if err := v.ValidateYAML([]byte(bad)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// The arcflux step condition of the application bundle is schema-checked too.
func TestManifestValidatorRejectsBadConditions(t *testing.T) {
	v := manifestValidator(t)
	src, err := os.ReadFile(filepath.Join(root(t), "bundles", "application", "porter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const cond = "      when:\n        value: ${ bundle.parameters.delivery }\n        equals: gitops\n"
	if strings.Count(string(src), cond) != 2 {
		t.Fatalf("the application manifest should hold the gitops condition twice (install, uninstall)")
	}
	for name, bad := range map[string]string{
		"condition without equals": "      when:\n        value: ${ bundle.parameters.delivery }\n",
		"condition without value":  "      when:\n        equals: gitops\n",
		"unknown condition field":  "      when:\n        value: ${ bundle.parameters.delivery }\n        equals: gitops\n        notEquals: offline\n",
		"condition not an object":  "      when: gitops\n",
	} {
		t.Run(name, func(t *testing.T) {
			if err := v.ValidateYAML([]byte(strings.Replace(string(src), cond, bad, 1))); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// Both delivery values are valid values of the parameter (enum) as written in a parameter set.
	for _, d := range deliveries {
		ok := strings.Replace(string(src), "    default: gitops\n", "    default: "+d+"\n", 1)
		if err := v.ValidateYAML([]byte(ok)); err != nil {
			t.Errorf("delivery default %s: %v", d, err)
		}
	}
}

func TestManifestConventions(t *testing.T) {
	version, err := os.ReadFile(filepath.Join(root(t), "bundles", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range loadBundles(t) {
		t.Run(b.Name, func(t *testing.T) {
			if b.M["schemaVersion"] != "1.0.1" {
				t.Errorf("schemaVersion %v, want 1.0.1", b.M["schemaVersion"])
			}
			if b.M["version"] != strings.TrimSpace(string(version)) {
				t.Errorf("version %v, bundles/VERSION says %s", b.M["version"], version)
			}
			declared := map[string]bool{}
			for _, m := range b.M["mixins"].([]any) {
				switch x := m.(type) {
				case string:
					declared[x] = true
				case map[string]any:
					for k := range x {
						declared[k] = true
					}
				}
			}
			for _, s := range b.allSteps() {
				if d, _ := s.Body["description"].(string); strings.TrimSpace(d) == "" {
					t.Errorf("%s: no description", s)
				}
				if !declared[s.Mixin] {
					t.Errorf("%s: mixin %s not declared", s, s.Mixin)
				}
			}
			for _, a := range []string{"install", "upgrade", "uninstall"} {
				if len(b.steps(a)) == 0 {
					t.Errorf("%s: no steps", a)
				}
			}
		})
	}
}

// YAML anchors (upgrade: *install) must survive as porter reads them.
func TestUpgradeRepeatsInstall(t *testing.T) {
	for _, b := range loadBundles(t) {
		in, _ := yaml.Marshal(b.M["install"])
		up, _ := yaml.Marshal(b.M["upgrade"])
		if string(in) != string(up) {
			t.Errorf("%s: upgrade differs from install (create-or-update semantics expected)", b.Name)
		}
	}
}
