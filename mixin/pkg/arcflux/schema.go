package arcflux

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The step shape — fields, types, required fields, formats, "exactly one of" — is defined once,
// in schema/schema.json: porter merges it into its manifest schema (`porter schema`, editors),
// and every step is validated against it here before the commands' own rules (connect.go,
// flux.go, status.go, step.go) check what a schema cannot say (defaults from the environment,
// the action, relations between fields, lint warnings). Each pattern carries a "title" that
// names what the value should be; errors are reported as "<field>: <value> is not <title>".

//go:embed schema/schema.json
var schemaJSON []byte

// Schema returns the mixin's draft-07 JSON schema (porter merges it under mixin.arcflux).
func Schema() []byte { return append([]byte(nil), schemaJSON...) }

// PrintSchema prints the embedded schema verbatim.
func (m *Mixin) PrintSchema() error {
	_, err := fmt.Fprint(m.Out, string(schemaJSON))
	return err
}

// templateEscape is the alternative every pattern of the schema starts with so that an
// unresolved porter template (${ bundle.parameters.x }) passes at build and lint time.
const templateEscape = `\$\{.*\}|`

// Definitions validated on their own.
const (
	defStep         = "invokeStep" // {arcflux: step}; status is allowed here, step.go rejects it outside custom actions
	defWhen         = "when"
	defDescription  = "stepDescription"
	defSubscription = "subscriptionId"
	defConfig       = "config/properties/arcflux"
)

// shapes are the schema compiled twice: for build and lint (templates still unresolved, so
// accepted wherever a pattern applies) and for run time (porter has resolved every template,
// so the template escape is removed from every pattern).
type shapes struct {
	doc      map[string]any
	lint     map[string]*jsonschema.Schema
	resolved map[string]*jsonschema.Schema
}

var compiled = sync.OnceValues(func() (*shapes, error) {
	s := &shapes{lint: map[string]*jsonschema.Schema{}, resolved: map[string]*jsonschema.Schema{}}
	for _, resolved := range []bool{false, true} {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
		if err != nil {
			return nil, fmt.Errorf("schema.json: %w", err)
		}
		doc, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("schema.json: not an object")
		}
		into := s.lint
		if resolved {
			stripTemplateEscapes(doc)
			into = s.resolved
		} else {
			s.doc = doc
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("arcflux.json", doc); err != nil {
			return nil, fmt.Errorf("schema.json: %w", err)
		}
		for _, def := range []string{defStep, defWhen, defDescription, defSubscription, defConfig} {
			sch, err := c.Compile("arcflux.json#/definitions/" + def)
			if err != nil {
				return nil, fmt.Errorf("schema.json: %s: %w", def, err)
			}
			into[def] = sch
		}
	}
	return s, nil
})

func stripTemplateEscapes(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if p, ok := e.(string); ok && k == "pattern" {
				t[k] = strings.ReplaceAll(p, templateEscape, "")
				continue
			}
			stripTemplateEscapes(e)
		}
	case []any:
		for _, e := range t {
			stripTemplateEscapes(e)
		}
	}
}

// validate checks inst against a definition of the schema and returns one problem per
// failure, each naming the field below prefix (the step's arcflux key is not part of names).
func validate(def string, inst any, resolved bool, prefix ...string) []Problem {
	s, err := compiled()
	if err != nil {
		return []Problem{{Code: CodeInvalid, Message: err.Error()}}
	}
	sch := s.lint[def]
	if resolved {
		sch = s.resolved[def]
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Code: CodeInvalid, Field: strings.Join(prefix, "."), Message: err.Error()}}
	}
	var ps []Problem
	s.collect(ve, inst, prefix, &ps)
	return ps
}

var printer = message.NewPrinter(language.English)

// collect turns the leaves of a validation error into problems.
func (s *shapes) collect(e *jsonschema.ValidationError, inst any, prefix []string, ps *[]Problem) {
	loc := append(slices.Clone(prefix), e.InstanceLocation...)
	if len(loc) > 0 && loc[0] == Name {
		loc = loc[1:]
	}
	field := fieldName(loc)
	node := s.node(e.SchemaURL)
	add := func(field, format string, args ...any) {
		*ps = append(*ps, Problem{Code: CodeInvalid, Level: LevelError, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch k := e.ErrorKind.(type) {
	case *kind.OneOf:
		if names := requiredAlternatives(node); names != nil {
			has := 0
			if m, ok := valueAt(inst, e.InstanceLocation).(map[string]any); ok {
				for _, n := range names {
					if _, ok := m[n]; ok {
						has++
					}
				}
			}
			p := Problem{Code: CodeInvalid, Level: LevelError, Field: field, Message: fmt.Sprintf("needs exactly one of %s (has %d)", orList(names), has)}
			if field == "" {
				p.Code, p.Message = CodeCommand, "a step "+p.Message
			}
			*ps = append(*ps, p)
			return
		}
	case *kind.Required:
		props, _ := node["properties"].(map[string]any)
		for _, n := range k.Missing {
			msg := "is required"
			if d := description(s.resolve(props[n])); d != "" {
				msg += " (" + d + ")"
			}
			add(fieldName(append(slices.Clone(loc), n)), "%s", msg)
		}
		return
	case *kind.AdditionalProperties:
		for _, n := range k.Properties {
			add(field, "unknown field %q", n)
		}
		return
	case *kind.PropertyNames:
		add(field, "key %q is not %s", k.Property, title(s.resolve(node["propertyNames"])))
		return
	case *kind.Pattern:
		if k.Got == "" {
			add(field, "is required")
		} else {
			add(field, "%q is not %s", k.Got, title(node))
		}
		return
	case *kind.MinLength:
		if k.Got == 0 {
			add(field, "is required")
		} else {
			add(field, "is shorter than %d characters", k.Want)
		}
		return
	case *kind.MaxLength:
		add(field, "is longer than %d characters", k.Want)
		return
	case *kind.MaxProperties:
		add(field, "has %d entries; at most %d are allowed", k.Got, k.Want)
		return
	case *kind.Type:
		if t, ok := node["title"].(string); ok {
			v, _ := json.Marshal(valueAt(inst, e.InstanceLocation))
			add(field, "%s is not %s", v, t)
		} else {
			add(field, "is %s, want %s", k.Got, strings.Join(k.Want, " or "))
		}
		return
	}
	if len(e.Causes) == 0 {
		add(field, "%s", e.ErrorKind.LocalizedString(printer))
		return
	}
	for _, c := range e.Causes {
		s.collect(c, inst, prefix, ps)
	}
}

// node returns the schema object at a schema URL (arcflux.json#/definitions/...).
func (s *shapes) node(url string) map[string]any {
	_, ptr, _ := strings.Cut(url, "#")
	var cur any = s.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch t := cur.(type) {
		case map[string]any:
			cur = t[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			cur = t[i]
		default:
			return nil
		}
	}
	m, _ := cur.(map[string]any)
	return m
}

// resolve follows a local $ref.
func (s *shapes) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		return s.node(ref)
	}
	return m
}

// requiredAlternatives returns the names of a oneOf whose branches each only require one
// property ("exactly one of"), or nil.
func requiredAlternatives(node map[string]any) []string {
	alts, _ := node["oneOf"].([]any)
	var names []string
	for _, a := range alts {
		m, _ := a.(map[string]any)
		req, _ := m["required"].([]any)
		if len(m) != 1 || len(req) != 1 {
			return nil
		}
		n, _ := req[0].(string)
		names = append(names, n)
	}
	return names
}

func title(node map[string]any) string {
	if t, ok := node["title"].(string); ok {
		return t
	}
	p, _ := node["pattern"].(string)
	return "matching " + p
}

func description(node map[string]any) string {
	d, _ := node["description"].(string)
	if d == "" {
		return ""
	}
	return strings.ToLower(d[:1]) + d[1:]
}

func valueAt(v any, loc []string) any {
	for _, tok := range loc {
		switch t := v.(type) {
		case map[string]any:
			v = t[tok]
		case []any:
			i, _ := strconv.Atoi(tok)
			if i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

// fieldName writes an instance location as the step's field: flux.kustomizations[0].name.
func fieldName(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// orList writes "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
