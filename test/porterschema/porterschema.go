// Package porterschema merges mixin schemas into porter's manifest schema the
// way porter does (pkg/porter/schema.go), and validates porter.yaml files
// against the result with a draft-07 validator. Porter itself only uses the
// merged schema for `porter schema`; we use it to check manifests in tests.
package porterschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/test/testenv"
)

// ManifestFile is porter's manifest schema in Dir.
const ManifestFile = "porter-manifest.schema.json"

// ShippedMixins loads the schemas of the mixins whose schemas are kept beside porter's in Dir
// (exec, helm3, az).
func ShippedMixins() ([]Mixin, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	var out []Mixin
	for _, name := range []string{"exec", "helm3", "az"} {
		m, err := MixinFromFile(name, filepath.Join(dir, "porter-"+name+"-mixin.schema.json"))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// LoadShipped compiles porter's manifest schema from Dir merged with the shipped mixins'
// schemas and the given ones (the arcflux schema).
func LoadShipped(more ...Mixin) (*Validator, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	mixins, err := ShippedMixins()
	if err != nil {
		return nil, err
	}
	return Load(filepath.Join(dir, ManifestFile), append(mixins, more...)...)
}

// Dir finds porter's schemas (porter-manifest.schema.json and the exec, helm3 and az mixin
// schemas): $EDGEFRAME_SHARED_SCHEMAS when set, else shared/schemas beside the repository
// (where CI copies them).
func Dir() (string, error) {
	var tried []string
	if d := os.Getenv("EDGEFRAME_SHARED_SCHEMAS"); d != "" {
		tried = append(tried, d)
	}
	if root, err := testenv.RepoRoot(); err == nil {
		tried = append(tried, filepath.Join(root, "..", "shared", "schemas"))
	}
	for _, d := range tried {
		if _, err := os.Stat(filepath.Join(d, ManifestFile)); err == nil {
			return filepath.Abs(d)
		}
	}
	return "", fmt.Errorf("porter schemas not found in %s: set EDGEFRAME_SHARED_SCHEMAS to the shared/schemas directory", strings.Join(tried, ", "))
}

// Mixin is a mixin's name and the document its `schema` command prints.
type Mixin struct {
	Name   string
	Schema []byte
}

// coreActions are referenced from properties; custom actions from additionalProperties.
var coreActions = []string{"install", "upgrade", "uninstall"}

// Merge embeds each mixin schema into the manifest schema exactly as porter
// does: every "#/" ref of the mixin becomes "#/mixin.<name>/", the document goes
// under the root key "mixin.<name>", its installStep/upgradeStep/uninstallStep
// are appended to properties.<action>.items.anyOf, its invokeStep (if any) to
// additionalProperties.items.anyOf, its config (if any) to mixins.items.oneOf,
// and its name to the enum of bare mixin declarations.
func Merge(manifest []byte, mixins ...Mixin) (map[string]any, error) {
	var root map[string]any
	if err := json.Unmarshal(manifest, &root); err != nil {
		return nil, fmt.Errorf("manifest schema: %w", err)
	}
	props, err := obj(root, "properties")
	if err != nil {
		return nil, err
	}
	addl, err := obj(root, "additionalProperties")
	if err != nil {
		return nil, err
	}
	mixinsProp, err := obj(props, "mixins")
	if err != nil {
		return nil, err
	}
	mixinItems, err := obj(mixinsProp, "items")
	if err != nil {
		return nil, err
	}
	oneOf, ok := mixinItems["oneOf"].([]any)
	if !ok || len(oneOf) == 0 {
		return nil, errors.New("manifest schema: properties.mixins.items.oneOf missing")
	}
	decl, ok := oneOf[0].(map[string]any)
	if !ok {
		return nil, errors.New("manifest schema: properties.mixins.items.oneOf[0] is not an object")
	}
	enum, _ := decl["enum"].([]any)

	for _, m := range mixins {
		rewritten := strings.ReplaceAll(string(m.Schema), `"#/`, fmt.Sprintf(`"#/mixin.%s/`, m.Name))
		var ms map[string]any
		if err := json.Unmarshal([]byte(rewritten), &ms); err != nil {
			return nil, fmt.Errorf("mixin %s schema: %w", m.Name, err)
		}
		defs, _ := ms["definitions"].(map[string]any)
		for _, action := range coreActions {
			if _, ok := defs[action+"Step"]; !ok {
				return nil, fmt.Errorf("mixin %s schema: definitions.%sStep missing (porter references it unconditionally)", m.Name, action)
			}
		}
		root["mixin."+m.Name] = ms
		enum = append(enum, m.Name)
		if _, ok := defs["config"]; ok {
			oneOf = append(oneOf, map[string]any{"$ref": fmt.Sprintf("#/mixin.%s/definitions/config", m.Name)})
		}
		for _, action := range coreActions {
			ap, err := obj(props, action)
			if err != nil {
				return nil, err
			}
			if err := appendRef(ap, "anyOf", fmt.Sprintf("#/mixin.%s/definitions/%sStep", m.Name, action)); err != nil {
				return nil, fmt.Errorf("properties.%s: %w", action, err)
			}
		}
		if _, ok := defs["invokeStep"]; ok {
			if err := appendRef(addl, "anyOf", fmt.Sprintf("#/mixin.%s/definitions/invokeStep", m.Name)); err != nil {
				return nil, fmt.Errorf("additionalProperties: %w", err)
			}
		}
	}
	decl["enum"] = enum
	mixinItems["oneOf"] = oneOf
	return root, nil
}

func obj(m map[string]any, k string) (map[string]any, error) {
	v, ok := m[k].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("manifest schema: %s is not an object", k)
	}
	return v, nil
}

func appendRef(arraySchema map[string]any, kw, ref string) error {
	items, ok := arraySchema["items"].(map[string]any)
	if !ok {
		return errors.New("items is not an object")
	}
	list, _ := items[kw].([]any)
	items[kw] = append(list, map[string]any{"$ref": ref})
	return nil
}

// PorterJSONSchemaURL is the meta-schema the manifest schema refers to for definitions.
const PorterJSONSchemaURL = "https://porter.sh/schema/json-schema.json"

// Validator validates manifests against a merged schema.
type Validator struct {
	schema *jsonschema.Schema
}

// Compile compiles a merged schema.
func Compile(merged map[string]any) (*Validator, error) {
	// Round-trip through JSON so numbers are what the compiler expects.
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	// The manifest schema describes parameter/output definitions with porter's
	// copy of the draft-07 meta-schema; the validator's built-in draft-07
	// meta-schema stands in for it, so nothing is fetched.
	if err := c.AddResource(PorterJSONSchemaURL, map[string]any{"$ref": "http://json-schema.org/draft-07/schema#"}); err != nil {
		return nil, err
	}
	loc := "porter-manifest-merged.json"
	if id, ok := merged["$id"].(string); ok && id != "" {
		loc = id
	}
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("merged schema: %w", err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("merged schema: %w", err)
	}
	return &Validator{schema: s}, nil
}

// Load merges the mixin schemas into the manifest schema file and compiles the result.
func Load(manifestSchemaPath string, mixins ...Mixin) (*Validator, error) {
	b, err := os.ReadFile(manifestSchemaPath)
	if err != nil {
		return nil, err
	}
	merged, err := Merge(b, mixins...)
	if err != nil {
		return nil, err
	}
	return Compile(merged)
}

// MixinFromFile reads a mixin schema file; the name is given explicitly.
func MixinFromFile(name, path string) (Mixin, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Mixin{}, err
	}
	return Mixin{Name: name, Schema: b}, nil
}

// ValidateYAML validates a porter.yaml document.
func (v *Validator) ValidateYAML(data []byte) error {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("YAML: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return v.schema.Validate(inst)
}

// ValidateFile validates a porter.yaml file, naming it in the error.
func (v *Validator) ValidateFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := v.ValidateYAML(b); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}
