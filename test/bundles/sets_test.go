package bundles_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/test/porterschema"
)

func setValidator(t *testing.T, file string) *porterschema.Validator {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(schemasDir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	v, err := porterschema.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// outputRE finds `bundles/scripts/installation-output.sh edge-<level>-<bundle> OUTPUT` in
// command sources (porter installation outputs show OUTPUT -i INSTALLATION, printed exactly).
var outputRE = regexp.MustCompile(`^bundles/scripts/installation-output\.sh edge-(l[234])-([a-z]+) ([a-z0-9-]+)( :[0-9]+)?$`)

// Every example set validates against Porter's schema, names only what its bundle declares,
// covers every required entry, and takes values of other layers only from outputs they produce.
func TestExampleSetsMatchTheirBundles(t *testing.T) {
	params := setValidator(t, "porter-parameter-set.schema.json")
	creds := setValidator(t, "porter-credential-set.schema.json")
	bundles := map[string]bundle{}
	for _, b := range loadBundles(t) {
		bundles[b.Name] = b
	}
	files, err := filepath.Glob(filepath.Join(root(t), "bundles", "*", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(bundles)*2 {
		t.Fatalf("only %d example sets", len(files))
	}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(filepath.Dir(f)))
		b := bundles[name]
		t.Run(name+"/"+filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var set map[string]any
			if err := yaml.Unmarshal(src, &set); err != nil {
				t.Fatal(err)
			}
			var entries []any
			var declared map[string]map[string]any
			switch set["schemaType"] {
			case "ParameterSet":
				if err := params.ValidateYAML(src); err != nil {
					t.Fatal(err)
				}
				entries, _ = set["parameters"].([]any)
				declared = b.named("parameters")
			case "CredentialSet":
				if err := creds.ValidateYAML(src); err != nil {
					t.Fatal(err)
				}
				entries, _ = set["credentials"].([]any)
				declared = b.named("credentials")
				// A credential set must cover the required credentials of the actions it serves.
				have := map[string]bool{}
				for _, e := range entries {
					have[e.(map[string]any)["name"].(string)] = true
				}
				for n, c := range declared {
					if req, ok := c["required"].(bool); ok && !req {
						continue
					}
					if !have[n] {
						t.Errorf("credential %s is required but not in the set", n)
					}
				}
			default:
				t.Fatalf("schemaType %v: want ParameterSet or CredentialSet", set["schemaType"])
			}
			if set["schemaVersion"] != "1.0.1" {
				t.Errorf("schemaVersion %v, want 1.0.1", set["schemaVersion"])
			}
			for _, raw := range entries {
				e := raw.(map[string]any)
				n := e["name"].(string)
				if _, ok := declared[n]; !ok {
					t.Errorf("%s: not declared by the %s bundle", n, name)
				}
				src, _ := e["source"].(map[string]any)
				cmd, _ := src["command"].(string)
				if cmd == "" {
					continue
				}
				m := outputRE.FindStringSubmatch(cmd)
				if m == nil {
					t.Errorf("%s: command %q does not read an installation output with bundles/scripts/installation-output.sh", n, cmd)
					continue
				}
				out, producer := m[3], bundles[m[2]]
				if producer.M == nil {
					t.Errorf("%s: installation edge-%s-%s is of no bundle", n, m[1], m[2])
					continue
				}
				o, ok := producer.named("outputs")[out]
				if !ok {
					t.Errorf("%s: bundle %s has no output %s", n, m[2], out)
				} else if !appliesTo(o, "install") {
					t.Errorf("%s: output %s of %s is not produced on install", n, out, m[2])
				}
			}
		})
	}
}

// Every output one layer's parameter sets consume is produced by the layer below it.
func TestLayersChainThroughOutputs(t *testing.T) {
	want := map[string][]string{
		"platform/examples/params-l3.yaml":       {"connected-cluster-id", "proxy-address"},
		"application/examples/params-l4.yaml":    {"oidc-issuer-url"},
		"infrastructure/examples/params-l2.yaml": {"vnet-id", "proxy-address"},
		"offline/examples/params-l2.yaml":        {"proxy-address"},
		"offline/examples/params-l3.yaml":        {"proxy-address"},
	}
	for file, outs := range want {
		src, err := os.ReadFile(filepath.Join(root(t), "bundles", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			if !regexp.MustCompile(`installation-output\.sh edge-l[234]-[a-z]+ ` + o + `\b`).Match(src) {
				t.Errorf("%s does not take %s from an installation output", file, o)
			}
		}
	}
}
