package arcflux

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/PaesslerAG/jsonpath"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/mixin/pkg/azureauth"
)

// Step is one arcflux step: a description, exactly one typed command
// (connect, flux or status) and porter's step options. Its shape is the schema's
// (definitions.arcfluxInvoke); the commands live in connect.go, flux.go and status.go.
type Step struct {
	Description    string       `json:"description"`
	Connect        *Connect     `json:"connect,omitempty"`
	Flux           *Flux        `json:"flux,omitempty"`
	Status         *Status      `json:"status,omitempty"`
	Outputs        []Output     `json:"outputs,omitempty"`
	SuppressOutput bool         `json:"suppress-output,omitempty"`
	IgnoreError    *IgnoreError `json:"ignoreError,omitempty"`
	When           *When        `json:"when,omitempty"`
}

// When makes a step conditional (porter has no conditional steps): the step runs only when
// Value equals Equals, typically a bundle parameter against one of its enum values. Otherwise
// it prints "skipped: ..." and does nothing.
type When struct {
	// Value is usually a template, e.g. ${ bundle.parameters.delivery }.
	Value *string `json:"value,omitempty"`
	// Equals is the value for which the step runs ("" is allowed).
	Equals *string `json:"equals,omitempty"`
}

// Holds reports whether the step's condition holds (true without a condition).
func (w *When) Holds() bool {
	return w == nil || w.Value == nil || w.Equals == nil || *w.Value == *w.Equals
}

// Output is a step output taken with a JSONPath from the resource JSON.
type Output struct {
	Name     string `json:"name"`
	JSONPath string `json:"jsonPath"`
}

// IgnoreError says which failures do not fail the step (az mixin convention).
type IgnoreError struct {
	All    bool         `json:"all,omitempty"`
	Output *IgnoreMatch `json:"output,omitempty"`
}

// IgnoreMatch matches the error message.
type IgnoreMatch struct {
	Contains []string `json:"contains,omitempty"`
	Regex    []string `json:"regex,omitempty"`
}

// command is what each typed command (connect, flux, status) implements: the rules the
// schema cannot state, and its execution, which returns the resource JSON.
type command interface {
	check(c *checker)
	run(ctx context.Context, m *Mixin, action string, log io.Writer) ([]byte, error)
}

// command returns the step's typed command (nil when the step has none or several).
func (s Step) command() (string, command) {
	var name string
	var cmd command
	n := 0
	if s.Connect != nil {
		name, cmd, n = "connect", s.Connect, n+1
	}
	if s.Flux != nil {
		name, cmd, n = "flux", s.Flux, n+1
	}
	if s.Status != nil {
		name, cmd, n = "status", s.Status, n+1
	}
	if n != 1 {
		return "", nil
	}
	return name, cmd
}

// Command names the typed command of the step ("" when none or several).
func (s Step) Command() string {
	name, _ := s.command()
	return name
}

// Target identifies the Azure cluster resource a command works on.
type Target struct {
	// SubscriptionID defaults to env AZURE_SUBSCRIPTION_ID.
	SubscriptionID string `json:"subscriptionId,omitempty"`
	ResourceGroup  string `json:"resourceGroup"`
	ClusterName    string `json:"clusterName"`
	// Cloud is AzurePublicCloud (default), AzureChinaCloud or AzureUSGovernment (default env AZURE_CLOUD).
	Cloud string `json:"cloud,omitempty"`
}

// check applies the environment defaults the schema cannot see.
func (t Target) check(c *checker, prefix string) {
	if t.SubscriptionID == "" && c.resolved {
		if sub := c.getenv("AZURE_SUBSCRIPTION_ID"); sub == "" {
			c.bad(prefix+".subscriptionId", "is required (or set AZURE_SUBSCRIPTION_ID)")
		} else {
			c.problems = append(c.problems, validate(defSubscription, sub, true, prefix, "subscriptionId")...)
		}
	}
	cloud := t.Cloud
	if cloud == "" && c.resolved {
		cloud = c.getenv("AZURE_CLOUD")
	}
	if cloud != "" && !c.skip(cloud) {
		if _, err := azureauth.LookupCloud(cloud); err != nil {
			c.bad(prefix+".cloud", "%v", err)
		}
	}
}

// resolve applies the defaults: the cloud and the subscription from the environment.
func (m *Mixin) resolve(t Target) (azureauth.Cloud, string, error) {
	name := t.Cloud
	if name == "" {
		name = m.getenv("AZURE_CLOUD")
	}
	cloud, err := azureauth.LookupCloud(name)
	if err != nil {
		return cloud, "", err
	}
	sub := t.SubscriptionID
	if sub == "" {
		sub = m.getenv("AZURE_SUBSCRIPTION_ID")
	}
	return cloud, sub, nil
}

// azure builds the Azure clients of the target's subscription and cloud.
func (m *Mixin) azure(ctx context.Context, t Target) (AzureClients, azureauth.Cloud, string, error) {
	cloud, sub, err := m.resolve(t)
	if err != nil {
		return AzureClients{}, cloud, sub, err
	}
	f := m.Azure
	if f == nil {
		f = SDKAzure{Getenv: m.getenv, Debug: m.debugf}
	}
	c, err := f.Clients(ctx, cloud, sub)
	return c, cloud, sub, err
}

// Actions are the steps per action name, as porter sends them.
type Actions map[string][]json.RawMessage

// Names returns the action names in a stable order (install, upgrade, uninstall, then custom ones sorted).
func (a Actions) Names() []string {
	rank := map[string]int{"install": 0, "upgrade": 1, "uninstall": 2}
	names := slices.Collect(maps.Keys(a))
	sort.Slice(names, func(i, j int) bool {
		ri, iok := rank[names[i]]
		rj, jok := rank[names[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return names[i] < names[j]
	})
	return names
}

// parseActions reads an action map {<action>: [{arcflux: step}, ...]} without checking the steps.
func parseActions(data []byte) (Actions, error) {
	var raw Actions
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("step YAML: %w", cleanJSONError(err))
	}
	return raw, nil
}

func isCoreAction(a string) bool { return a == "install" || a == "upgrade" || a == "uninstall" }

// checkStep checks one step entry ({arcflux: step} as JSON) of an action: its shape against
// the schema, then the rules of its command. It returns every problem (lint warnings included)
// and the step decoded as far as it goes. resolved is true at run time (templates substituted).
func checkStep(entry []byte, action string, resolved bool, getenv func(string) string) (Step, []Problem) {
	c := &checker{action: action, custom: !isCoreAction(action), resolved: resolved, getenv: getenv}
	var se struct {
		Arcflux Step `json:"arcflux"`
	}
	decodeErr := yaml.Unmarshal(entry, &se) // typed: a number where a string belongs is read as one
	decoded := decodeErr == nil
	s := se.Arcflux
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(entry))
	if err != nil {
		return s, []Problem{{Code: CodeInvalid, Message: "step JSON: " + err.Error()}}
	}
	if decoded && resolved && !s.When.Holds() {
		// A skipped step touches nothing: its other fields may legitimately be empty
		// (e.g. the Azure target of a Flux step on an offline site).
		step, _ := valueAt(inst, []string{Name}).(map[string]any)
		c.problems = append(c.problems, validate(defDescription, step["description"], resolved, "description")...)
		c.problems = append(c.problems, validate(defWhen, step["when"], resolved, "when")...)
		s.When.check(c)
		return s, sortProblems(c.problems)
	}
	c.problems = validate(defStep, inst, resolved)
	switch {
	case decoded:
		s.check(c)
	case len(errorsOnly(c.problems)) == 0:
		// The schema let through what the Go types cannot hold: never run such a step.
		c.bad("", "step does not decode: %v", cleanJSONError(decodeErr))
	}
	return s, sortProblems(c.problems)
}

// check applies the rules common to every step, then the command's.
func (s Step) check(c *checker) {
	s.When.check(c)
	seen := map[string]bool{}
	for i, o := range s.Outputs {
		f := fmt.Sprintf("outputs[%d]", i)
		if seen[o.Name] && o.Name != "" {
			c.bad(f+".name", "%q is declared twice", o.Name)
		}
		seen[o.Name] = true
		if o.JSONPath != "" && !c.skip(o.JSONPath) {
			if _, err := jsonpath.New(o.JSONPath); err != nil {
				c.bad(f+".jsonPath", "%q is not a JSONPath expression: %v", o.JSONPath, err)
			}
		}
	}
	if ie := s.IgnoreError; ie != nil && ie.Output != nil {
		for i, r := range ie.Output.Regex {
			if _, err := regexp.Compile(r); err != nil && !c.skip(r) {
				c.bad(fmt.Sprintf("ignoreError.output.regex[%d]", i), "%q is not a regular expression: %v", r, err)
			}
		}
	}
	if _, cmd := s.command(); cmd != nil {
		cmd.check(c)
	}
}

// check: at lint time a value without a template is a constant condition (a warning: the
// step always or never runs); at run time a template left unresolved is an error.
func (w *When) check(c *checker) {
	if w == nil {
		return
	}
	if w.Value != nil && !c.resolved && !isTemplate(*w.Value) {
		c.add(CodeConstantWhen, LevelWarning, "when.value", "%q is a constant, so the step always or never runs; use a template such as ${ bundle.parameters.<name> }", *w.Value)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"when.value", w.Value}, {"when.equals", w.Equals}} {
		if f.v != nil && c.resolved && isTemplate(*f.v) {
			c.bad(f.name, "%q still holds an unresolved template", *f.v)
		}
	}
}

// ExecuteOptions select the action and where the step comes from.
type ExecuteOptions struct {
	// Action is install, upgrade, uninstall or the custom action name (invoke --action).
	Action string
	// File reads the step from a file instead of stdin (-f).
	File string
}

// Execute runs the one step porter sent for the action: install, upgrade and custom actions
// create or update what the step describes, uninstall deletes it (install.go, upgrade.go,
// uninstall.go, invoke.go).
func (m *Mixin) Execute(ctx context.Context, opts ExecuteOptions) error {
	var r io.Reader = m.In
	if opts.File != "" {
		f, err := os.Open(opts.File)
		if err != nil {
			return fmt.Errorf("step file: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read step: %w", err)
	}
	actions, err := parseActions(data)
	if err != nil {
		return err
	}
	entries, ok := actions[opts.Action]
	if !ok {
		return fmt.Errorf("step YAML has no %q action (found %s)", opts.Action, strings.Join(slices.Sorted(maps.Keys(actions)), ", "))
	}
	if len(entries) != 1 {
		return fmt.Errorf("%s: porter sends exactly one step per call, got %d", opts.Action, len(entries))
	}
	step, problems := checkStep(entries[0], opts.Action, true, m.getenv)
	if ps := errorsOnly(problems); len(ps) > 0 {
		return &StepError{Action: opts.Action, Number: 1, Description: step.Description, Problems: ps}
	}
	if !step.When.Holds() {
		// Condition false: no Azure call, no cluster access. Declared outputs are written
		// empty so that bundle outputs applying to the action still exist.
		fmt.Fprintf(m.Out, "skipped: %s step %q (when: value %q is not %q)\n", opts.Action, step.Description, *step.When.Value, *step.When.Equals)
		return m.writeOutputFiles(step.Outputs, func(Output) ([]byte, error) { return nil, nil })
	}
	name, cmd := step.command()
	m.debugf("%s step %q: %s", opts.Action, step.Description, name)
	var log io.Writer = m.Out
	if step.SuppressOutput {
		log = io.Discard
	}
	resource, err := cmd.run(ctx, m, opts.Action, log)
	if err != nil {
		if step.IgnoreError.ignores(err) {
			fmt.Fprintf(m.Out, "ignoring error (ignoreError): %v\n", err)
			return nil
		}
		return err
	}
	if !step.SuppressOutput && resource != nil {
		fmt.Fprintf(m.Out, "%s\n", resource)
	}
	return m.writeOutputs(step.Outputs, resource)
}

// writeOutputs evaluates each output's JSONPath over the resource JSON and
// writes the result to <OutputsDir>/<name> (strings raw, anything else as JSON).
func (m *Mixin) writeOutputs(outs []Output, resource []byte) error {
	var doc any
	if len(outs) > 0 && len(resource) > 0 {
		if err := json.Unmarshal(resource, &doc); err != nil {
			return fmt.Errorf("outputs: resource JSON: %w", err)
		}
	}
	return m.writeOutputFiles(outs, func(o Output) ([]byte, error) {
		v, err := jsonpath.Get(o.JSONPath, doc)
		if err != nil {
			return nil, fmt.Errorf("jsonPath %s: %w", o.JSONPath, err)
		}
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
		return json.Marshal(v)
	})
}

// writeOutputFiles writes value(o) to <OutputsDir>/<o.Name> for every output, reporting
// every failure, each naming its output.
func (m *Mixin) writeOutputFiles(outs []Output, value func(Output) ([]byte, error)) error {
	if len(outs) == 0 {
		return nil
	}
	dir := m.OutputsDir
	if dir == "" {
		dir = DefaultOutputsDir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	var errs []error
	for _, o := range outs {
		b, err := value(o)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, o.Name), b, 0o600)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", o.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ignores applies the step's ignoreError rules to a failure.
func (ie *IgnoreError) ignores(err error) bool {
	if ie == nil || err == nil {
		return false
	}
	if ie.All {
		return true
	}
	if ie.Output == nil {
		return false
	}
	msg := err.Error()
	for _, c := range ie.Output.Contains {
		if strings.Contains(msg, c) {
			return true
		}
	}
	for _, r := range ie.Output.Regex {
		if re, rerr := regexp.Compile(r); rerr == nil && re.MatchString(msg) {
			return true
		}
	}
	return false
}

// Durations of the API: whole seconds.
func seconds(v string) *int64 {
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil
	}
	s := int64(d / time.Second)
	return &s
}

func parseDuration(v string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	return def
}
