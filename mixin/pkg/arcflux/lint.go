package arcflux

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// LintLocation is porter's linter.Location.
type LintLocation struct {
	Action          string
	Mixin           string
	StepNumber      int
	StepDescription string
}

// LintResult is porter's linter.Result (no json tags: capitalised keys).
type LintResult struct {
	Level    Level
	Location LintLocation
	Code     string
	Title    string
	Message  string
	URL      string
}

// DocsURL is where the lint codes are explained.
const DocsURL = "https://github.com/edgeframe/edgeframe/blob/main/mixin/README.md"

var lintTitles = map[string]string{
	CodeInvalid:         "Invalid step field",
	CodeCommand:         "One command per step",
	CodeDependsOn:       "Unknown kustomization dependency",
	CodeNameTooLong:     "Flux name too long",
	CodePrune:           "Prune deletes objects",
	CodePlaintextSecret: "Secret in plain text",
	CodeStatusAction:    "status outside a custom action",
	CodeConstantWhen:    "Constant step condition",
}

func lintStep(s Step, action string, number int) []LintResult {
	loc := LintLocation{Action: action, Mixin: Name, StepNumber: number, StepDescription: s.Description}
	var out []LintResult
	for _, p := range validateStep(s, action, !isCoreAction(action), false, nil) {
		out = append(out, result(p, loc))
	}
	return out
}

// noStep locates a result that belongs to no step (the mixin configuration, unreadable input):
// with no mixin in the location porter prints no "<action>: 0th step in the arcflux mixin ()"
// line, and the message names the mixin instead.
var noStep = LintLocation{}

// LintInput lints the raw build input porter sends on stdin step by step: a step that does
// not decode (an unknown field, a wrong type) is one error located at its action, step number
// and description, and every other step is still linted. Only input that is not YAML at all
// yields a single unlocated result.
func LintInput(data []byte) []LintResult {
	results := []LintResult{}
	var raw struct {
		Config  json.RawMessage              `json:"config"`
		Actions map[string][]json.RawMessage `json:"actions"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return append(results, result(Problem{Level: LevelError, Message: "arcflux build input YAML: " + cleanJSONError(err).Error()}, noStep))
	}
	if len(raw.Config) > 0 && string(raw.Config) != "null" {
		var c Config
		if err := decodeStrict(raw.Config, &c); err != nil {
			results = append(results, result(Problem{Level: LevelError, Message: "arcflux mixin configuration: " + cleanJSONError(err).Error()}, noStep))
		} else {
			for _, p := range c.Validate() {
				results = append(results, result(p, noStep))
			}
		}
	}
	names := Actions{}
	for a := range raw.Actions {
		names[a] = nil
	}
	for _, action := range names.Names() {
		for i, e := range raw.Actions[action] {
			var se stepEntry
			if err := decodeStrict(e, &se); err != nil {
				// Porter still shows where: the description, read leniently.
				var loose struct {
					Arcflux struct {
						Description string `json:"description"`
					} `json:"arcflux"`
				}
				_ = yaml.Unmarshal(e, &loose)
				loc := LintLocation{Action: action, Mixin: Name, StepNumber: i + 1, StepDescription: loose.Arcflux.Description}
				results = append(results, result(Problem{Level: LevelError, Message: "step does not decode: " + cleanJSONError(err).Error()}, loc))
				continue
			}
			results = append(results, lintStep(se.Arcflux, action, i+1)...)
		}
	}
	return results
}

func result(p Problem, loc LintLocation) LintResult {
	code := p.Code
	if code == "" {
		code = CodeInvalid
	}
	return LintResult{
		Level: p.Level, Location: loc, Code: code, Title: lintTitles[code],
		Message: p.qualified(),
		URL:     DocsURL + "#" + code,
	}
}

// PrintLint reads the build input from stdin and prints the lint results as JSON.
func (m *Mixin) PrintLint() error {
	data, err := io.ReadAll(m.In)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return m.writeJSON(LintInput(data))
}

func (m *Mixin) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(m.Out, "%s\n", b)
	return err
}
