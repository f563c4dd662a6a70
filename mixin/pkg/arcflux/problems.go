package arcflux

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lint codes (porter's MIXIN-NNN convention).
const (
	CodeInvalid         = "arcflux-100" // a field value is invalid
	CodeCommand         = "arcflux-101" // not exactly one of connect, flux, status
	CodeDependsOn       = "arcflux-102" // dependsOn names no sibling kustomization
	CodeNameTooLong     = "arcflux-103" // configuration + kustomization name longer than 62
	CodePrune           = "arcflux-104" // prune deletes what the source no longer has
	CodePlaintextSecret = "arcflux-105" // a secret written in the manifest instead of a template
	CodeStatusAction    = "arcflux-106" // status only makes sense in a custom action
	CodeConstantWhen    = "arcflux-107" // when.value is constant: the step always or never runs
)

// Level of a problem, as porter's linter.Level.
type Level int

// Porter lint levels.
const (
	LevelError   Level = 0
	LevelWarning Level = 2
)

// Problem is one finding about a step.
type Problem struct {
	Code    string
	Level   Level
	Field   string
	Message string
}

// qualified prefixes the field with the mixin name (arcflux.flux.name: ...).
func (p Problem) qualified() string {
	if p.Field == "" {
		return p.Message
	}
	return Name + "." + p.String()
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// sortProblems orders problems by field (array indexes numerically), keeping the order of
// the problems of one field; duplicates are dropped.
func sortProblems(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int { return compareFields(a.Field, b.Field) })
	return slices.Compact(ps)
}

func compareFields(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
	}
	as, bs := split(a), split(b)
	for i := 0; i < len(as) && i < len(bs); i++ {
		ai, aerr := strconv.Atoi(as[i])
		bi, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			if c := cmp.Compare(ai, bi); c != 0 {
				return c
			}
			continue
		}
		if c := strings.Compare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

// errorsOnly keeps the problems at error level.
func errorsOnly(ps []Problem) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Level == LevelError {
			out = append(out, p)
		}
	}
	return out
}

// StepError is a step validation failure naming the action, step and problems.
type StepError struct {
	Action      string
	Number      int
	Description string
	Problems    []Problem
}

func (e *StepError) Error() string {
	var b strings.Builder
	if e.Number == 0 {
		fmt.Fprintf(&b, "%s is invalid:", e.Description)
	} else {
		fmt.Fprintf(&b, "%s step %d (%q) is invalid:", e.Action, e.Number, e.Description)
	}
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.qualified())
	}
	return b.String()
}

// isTemplate reports whether porter still has to substitute a value.
func isTemplate(s string) bool { return strings.Contains(s, "${") }

// checker collects the problems of the rules a schema cannot state: defaults from the
// environment, the action, relations between fields, lint warnings. Formats and required
// fields are the schema's (schema.go). resolved says whether templates are substituted
// (run time) or still present (build and lint).
type checker struct {
	action   string
	custom   bool
	resolved bool
	getenv   func(string) string
	problems []Problem
}

func (c *checker) add(code string, level Level, field, format string, args ...any) {
	c.problems = append(c.problems, Problem{Code: code, Level: level, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) bad(field, format string, args ...any) {
	c.add(CodeInvalid, LevelError, field, format, args...)
}

// skip reports whether a value cannot be checked yet (an unresolved template).
func (c *checker) skip(v string) bool { return !c.resolved && isTemplate(v) }

// duration checks what the schema's duration pattern cannot: the API counts whole seconds,
// and some durations have a minimum. A value that does not parse is the schema's to report.
func (c *checker) duration(field, v string, min time.Duration) {
	if v == "" || c.skip(v) {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return
	}
	if d < min {
		c.bad(field, "%q is shorter than %s", v, min)
	}
	if d%time.Second != 0 {
		c.bad(field, "%q is not a whole number of seconds", v)
	}
}

// secret warns about a secret written in the manifest, without ever echoing its value.
func (c *checker) secret(field, v string) {
	if v != "" && !c.resolved && !isTemplate(v) {
		c.add(CodePlaintextSecret, LevelWarning, field, "holds a secret in plain text; pass it as ${ bundle.credentials.<name> }")
	}
}

// cleanJSONError removes the decoder's prefixes so the message names the field plainly.
func cleanJSONError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, p := range []string{"error unmarshaling JSON: ", "while decoding JSON: ", "json: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return errors.New(msg)
}
