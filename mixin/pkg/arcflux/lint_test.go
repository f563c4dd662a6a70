package arcflux

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// A step that fails to decode is one error located at its action, step number and
// description; the steps around it are still linted (porter prints each location as
// "install: 2nd step in the arcflux mixin (description)").
func TestLintLocatesEveryStepAndContinuesPastDecodeFailures(t *testing.T) {
	in := `config:
  caCertificates: [certs/proxy.crt]
actions:
  install:
  - arcflux:
      description: Connect
      connect: {resourceGroup: rg, clusterName: c1, location: westeurope}
  - arcflux:
      description: A typo in a field name
      flux: {resourceGroup: rg, clusterName: c1, name: platform, gitRepositry: {url: "https://git.example/edge"}}
  - arcflux:
      description: Flux with a bad interval
      flux:
        resourceGroup: rg
        clusterName: c1
        name: platform
        gitRepository: {url: "https://git.example/edge", branch: main, syncInterval: 30}
  uninstall:
  - arcflux:
      description: A wrong type
      connect: {resourceGroup: rg, clusterName: [c1]}
  status:
  - arcflux:
      description: Both commands
      status: {resourceGroup: rg, clusterName: c1}
      connect: {resourceGroup: rg, clusterName: c1, location: westeurope}
`
	var out bytes.Buffer
	m := &Mixin{In: strings.NewReader(in), Out: &out}
	if err := m.PrintLint(); err != nil {
		t.Fatal(err)
	}
	var res []LintResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	type where struct {
		action string
		n      int
		desc   string
		code   string
		msg    string
	}
	want := []where{
		{"install", 2, "A typo in a field name", CodeInvalid, `unknown field "gitRepositry"`},
		{"install", 3, "Flux with a bad interval", CodeInvalid, "syncInterval"},
		{"uninstall", 1, "A wrong type", CodeInvalid, "clusterName"},
		{"status", 1, "Both commands", CodeCommand, "exactly one"},
	}
	for _, w := range want {
		found := false
		for _, r := range res {
			l := r.Location
			if l.Action == w.action && l.StepNumber == w.n && l.StepDescription == w.desc && l.Mixin == Name &&
				r.Code == w.code && r.Level == LevelError && strings.Contains(r.Message, w.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s result at %s step %d (%s) mentioning %q in\n%s", w.code, w.action, w.n, w.desc, w.msg, out.String())
		}
	}
	for _, r := range res {
		if r.Location.Action == "" || r.Location.StepNumber == 0 || r.Location.StepDescription == "" {
			t.Errorf("unlocated result %+v", r)
		}
		if r.Location.Action == "install" && r.Location.StepNumber == 1 {
			t.Errorf("the valid first step has a result: %+v", r)
		}
	}
	// Input that is not YAML at all is still one error, not a crash.
	out.Reset()
	m = &Mixin{In: strings.NewReader("actions: [\n"), Out: &out}
	if err := m.PrintLint(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"Code": "arcflux-100"`) || !strings.Contains(out.String(), "arcflux build input YAML") ||
		!strings.Contains(out.String(), `"Mixin": ""`) {
		t.Errorf("not-YAML input: want one arcflux-100 error naming the mixin, with no step location (porter would print \"0th step\"): %s", out.String())
	}
	// A configuration that does not decode is reported the same way, and the steps are still linted.
	out.Reset()
	m = &Mixin{In: strings.NewReader("config: {caCertificate: x}\nactions:\n  install:\n  - arcflux: {description: Both, status: {resourceGroup: rg, clusterName: c1}, flux: {resourceGroup: rg, clusterName: c1, name: p, gitRepository: {url: \"https://git.example/edge\", branch: main}}}\n"), Out: &out}
	if err := m.PrintLint(); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res) != 2 ||
		res[0].Location != (LintLocation{}) || !strings.Contains(res[0].Message, `arcflux.config: unknown field "caCertificate"`) ||
		res[1].Location.StepNumber != 1 || res[1].Code != CodeCommand {
		t.Errorf("bad configuration: want its error unlocated, then the step's: %v %s", err, out.String())
	}
}
