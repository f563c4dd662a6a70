package arcflux

import (
	"encoding/json"
	"fmt"
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

// Lint returns porter lint results for the build input (templates unresolved).
func Lint(in BuildInput) []LintResult {
	results := []LintResult{}
	for _, p := range in.Config.Validate() {
		results = append(results, result(p, LintLocation{Mixin: Name}))
	}
	for _, action := range in.Actions.Names() {
		for i, s := range in.Actions[action] {
			loc := LintLocation{Action: action, Mixin: Name, StepNumber: i + 1, StepDescription: s.Description}
			for _, p := range validateStep(s, action, !isCoreAction(action), false, nil) {
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
	in, err := readBuildInput(m.In)
	if err != nil {
		// A step porter cannot even decode is reported as a lint error, not a crash.
		in = BuildInput{}
		res := []LintResult{{Level: LevelError, Location: LintLocation{Mixin: Name}, Code: CodeInvalid,
			Title: lintTitles[CodeInvalid], Message: cleanJSONError(err).Error(), URL: DocsURL + "#" + CodeInvalid}}
		return m.writeJSON(res)
	}
	return m.writeJSON(Lint(in))
}

func (m *Mixin) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(m.Out, "%s\n", b)
	return err
}
