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

// noStep locates a result that belongs to no step (the mixin configuration, unreadable input):
// with no mixin in the location porter prints no "<action>: 0th step in the arcflux mixin ()"
// line, and the message names the mixin instead.
var noStep = LintLocation{}

// LintInput lints the raw build input porter sends on stdin step by step: every problem of a
// step (its shape against the schema, then its command's rules and warnings) is one result
// located at its action, step number and description. Only input that is not YAML at all
// yields a single unlocated result.
func LintInput(data []byte) []LintResult {
	results := []LintResult{}
	var in buildInput
	if err := yaml.Unmarshal(data, &in); err != nil {
		return append(results, result(Problem{Level: LevelError, Message: "arcflux build input YAML: " + cleanJSONError(err).Error()}, noStep))
	}
	_, ps := checkConfig(in.Config)
	for _, p := range ps {
		results = append(results, result(p, noStep))
	}
	for _, action := range in.Actions.Names() {
		for i, e := range in.Actions[action] {
			s, ps := checkStep(e, action, false, nil)
			loc := LintLocation{Action: action, Mixin: Name, StepNumber: i + 1, StepDescription: s.Description}
			for _, p := range ps {
				results = append(results, result(p, loc))
			}
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
	b, err := json.MarshalIndent(LintInput(data), "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(m.Out, "%s\n", b)
	return err
}
