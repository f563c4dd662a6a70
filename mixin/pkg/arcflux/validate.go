package arcflux

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/PaesslerAG/jsonpath"

	"github.com/edgeframe/edgeframe/mixin/pkg/azureauth"
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
	return "arcflux." + p.String()
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

var (
	reGUID       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	reGroup      = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	reCluster    = regexp.MustCompile(`^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`)
	reLocation   = regexp.MustCompile(`^[a-z0-9]{2,40}$`)
	reDNSLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	reOutputName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	reTagKey     = regexp.MustCompile(`^[^<>%&\\?/]{1,512}$`)
	reDistro     = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
)

// isTemplate reports whether porter still has to substitute a value.
func isTemplate(s string) bool { return strings.Contains(s, "${") }

// checker collects problems; resolved says whether templates are substituted
// (runtime) or still present (build and lint).
type checker struct {
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

func (c *checker) required(field, v string) bool {
	if strings.TrimSpace(v) == "" {
		c.bad(field, "is required")
		return false
	}
	return true
}

func (c *checker) match(field, v string, re *regexp.Regexp, what string) {
	if v == "" || c.skip(v) {
		return
	}
	if !re.MatchString(v) {
		c.bad(field, "%q is not %s", v, what)
	}
}

func (c *checker) duration(field, v string, min time.Duration) {
	if v == "" || c.skip(v) {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		c.bad(field, "%q is not a Go duration (e.g. 90s, 5m, 1h30m)", v)
		return
	}
	if d < min {
		c.bad(field, "%q is shorter than %s", v, min)
	}
	if d%time.Second != 0 {
		c.bad(field, "%q is not a whole number of seconds", v)
	}
}

func (c *checker) url(field, v string, schemes ...string) {
	if v == "" || c.skip(v) {
		return
	}
	if strings.HasPrefix(v, "git@") && contains(schemes, "ssh") {
		return
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || !contains(schemes, u.Scheme) {
		c.bad(field, "%q is not a %s URL", v, strings.Join(schemes, "/"))
	}
}

// secret checks a secret field without ever echoing its value.
func (c *checker) secret(field, v string) {
	if v == "" {
		return
	}
	if !c.resolved && !isTemplate(v) {
		c.add(CodePlaintextSecret, LevelWarning, field, "holds a secret in plain text; pass it as ${ bundle.credentials.<name> }")
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// validateStep checks one step of an action. custom is true for custom actions (invoke).
func validateStep(s Step, action string, custom, resolved bool, getenv func(string) string) []Problem {
	c := &checker{resolved: resolved, getenv: getenv}
	c.required("description", s.Description)
	c.when(s.When)
	if resolved && !s.When.Holds() {
		// A skipped step touches nothing: its other fields may legitimately be empty
		// (e.g. the Azure target of a Flux step on an offline site).
		return c.problems
	}
	switch s.Command() {
	case "connect":
		c.connect(*s.Connect, action)
	case "flux":
		c.flux(*s.Flux)
	case "status":
		if !custom {
			c.add(CodeStatusAction, LevelError, "status", "is only allowed in a custom action (porter invoke --action <name>), not in %s", action)
		}
		c.target("status", s.Status.Target)
		c.clusterType("status.clusterType", s.Status.ClusterType)
		for i, n := range s.Status.FluxConfigurations {
			c.match(fmt.Sprintf("status.fluxConfigurations[%d]", i), n, reDNSLabel, "a DNS label")
		}
	default:
		c.add(CodeCommand, LevelError, "", "a step needs exactly one of connect, flux or status")
	}
	seen := map[string]bool{}
	for i, o := range s.Outputs {
		f := fmt.Sprintf("outputs[%d]", i)
		if c.required(f+".name", o.Name) {
			c.match(f+".name", o.Name, reOutputName, "a valid output name (letters, digits, - and _)")
			if seen[o.Name] {
				c.bad(f+".name", "%q is declared twice", o.Name)
			}
			seen[o.Name] = true
		}
		if c.required(f+".jsonPath", o.JSONPath) && !c.skip(o.JSONPath) {
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
	return c.problems
}

// when checks a step condition: both fields present; at lint time a value without a template
// is a constant condition (a warning: the step always or never runs).
func (c *checker) when(w *When) {
	if w == nil {
		return
	}
	if w.Value == nil {
		c.bad("when.value", "is required (e.g. ${ bundle.parameters.<name> })")
	}
	if w.Equals == nil {
		c.bad("when.equals", "is required (the value for which the step runs)")
	}
	if w.Value != nil && !c.resolved && !isTemplate(*w.Value) {
		c.add(CodeConstantWhen, LevelWarning, "when.value", "%q is a constant, so the step always or never runs; use a template such as ${ bundle.parameters.<name> }", *w.Value)
	}
	if w.Equals != nil && isTemplate(*w.Equals) && c.resolved {
		c.bad("when.equals", "%q still holds an unresolved template", *w.Equals)
	}
	if w.Value != nil && isTemplate(*w.Value) && c.resolved {
		c.bad("when.value", "%q still holds an unresolved template", *w.Value)
	}
}

func (c *checker) target(prefix string, t Target) {
	sub := t.SubscriptionID
	if sub == "" && c.resolved {
		sub = c.getenv("AZURE_SUBSCRIPTION_ID")
		if sub == "" {
			c.bad(prefix+".subscriptionId", "is required (or set AZURE_SUBSCRIPTION_ID)")
		}
	}
	c.match(prefix+".subscriptionId", sub, reGUID, "a subscription id (GUID)")
	if c.required(prefix+".resourceGroup", t.ResourceGroup) {
		c.match(prefix+".resourceGroup", t.ResourceGroup, reGroup, "a resource group name (1-90 letters, digits, - _ . ( ))")
		if !c.skip(t.ResourceGroup) && strings.HasSuffix(t.ResourceGroup, ".") {
			c.bad(prefix+".resourceGroup", "%q must not end with a period", t.ResourceGroup)
		}
	}
	if c.required(prefix+".clusterName", t.ClusterName) {
		c.match(prefix+".clusterName", t.ClusterName, reCluster, "a cluster name (1-63 letters, digits, - and _, starting and ending alphanumeric)")
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

func (c *checker) clusterType(field, v string) {
	if v == "" || c.skip(v) {
		return
	}
	if v != "connectedClusters" && v != "managedClusters" {
		c.bad(field, "%q is not connectedClusters or managedClusters", v)
	}
}

func (c *checker) connect(s Connect, action string) {
	c.target("connect", s.Target)
	if action != "uninstall" {
		if c.required("connect.location", s.Location) {
			c.match("connect.location", s.Location, reLocation, "an Azure location name (e.g. westeurope)")
		}
	} else {
		c.match("connect.location", s.Location, reLocation, "an Azure location name (e.g. westeurope)")
	}
	for _, k := range sortedKeys(s.Tags) {
		v := s.Tags[k]
		if !c.skip(k) && !reTagKey.MatchString(k) {
			c.bad("connect.tags", "key %q is not a valid Azure tag name", k)
		}
		if len(v) > 256 {
			c.bad("connect.tags."+k, "value is longer than 256 characters")
		}
	}
	if len(s.Tags) > 50 {
		c.bad("connect.tags", "has %d tags; Azure allows 50", len(s.Tags))
	}
	c.match("connect.distribution", s.Distribution, reDistro, "a distribution name (lowercase, e.g. k3s, aks, generic)")
	c.match("connect.infrastructure", s.Infrastructure, reDistro, "an infrastructure name (lowercase, e.g. generic, azure, vsphere)")
	c.duration("connect.timeout", s.Timeout, time.Minute)
	if p := s.Proxy; p != nil {
		c.url("connect.proxy.httpProxy", p.HTTPProxy, "http", "https")
		c.url("connect.proxy.httpsProxy", p.HTTPSProxy, "http", "https")
		// All fields empty means no proxy (e.g. bundle parameters left at their "" default).
		if p.HTTPProxy == "" && p.HTTPSProxy == "" && (p.NoProxy != "" || p.CACertFile != "") {
			for _, f := range []struct{ name, v string }{{"noProxy", p.NoProxy}, {"caCertFile", p.CACertFile}} {
				if f.v != "" {
					c.bad("connect.proxy."+f.name, "%q is set but neither httpProxy nor httpsProxy is", f.v)
				}
			}
		}
		if strings.ContainsAny(p.NoProxy, " \t") && !c.skip(p.NoProxy) {
			c.bad("connect.proxy.noProxy", "%q must be a comma-separated list without spaces", p.NoProxy)
		}
	}
	if a := s.AgentChart; a != nil {
		c.required("connect.agentChart.location", a.Location)
	}
	if s.ReleaseTrain != "" && !c.skip(s.ReleaseTrain) && !reDNSLabel.MatchString(s.ReleaseTrain) {
		c.bad("connect.releaseTrain", "%q is not a release train name (e.g. stable, preview)", s.ReleaseTrain)
	}
}

func (c *checker) flux(s Flux) {
	c.target("flux", s.Target)
	c.clusterType("flux.clusterType", s.ClusterType)
	if c.required("flux.name", s.Name) {
		c.match("flux.name", s.Name, reDNSLabel, "a DNS label (lowercase letters, digits and -, at most 63)")
	}
	if s.Scope != "" && !c.skip(s.Scope) && s.Scope != "cluster" && s.Scope != "namespace" {
		c.bad("flux.scope", "%q is not cluster or namespace", s.Scope)
	}
	c.match("flux.namespace", s.Namespace, reDNSLabel, "a namespace name (DNS label)")
	c.duration("flux.timeout", s.Timeout, time.Minute)
	if e := s.Extension; e != nil {
		c.match("flux.extension.name", e.Name, reDNSLabel, "an extension name (DNS label)")
		c.match("flux.extension.releaseTrain", e.ReleaseTrain, reDNSLabel, "a release train name (e.g. stable)")
	}
	sources := 0
	if g := s.GitRepository; g != nil {
		sources++
		f := "flux.gitRepository"
		if c.required(f+".url", g.URL) {
			c.url(f+".url", g.URL, "https", "http", "ssh")
		}
		refs := 0
		for _, r := range []string{g.Branch, g.Tag, g.Semver, g.Commit} {
			if r != "" {
				refs++
			}
		}
		if refs != 1 {
			c.bad(f, "needs exactly one of branch, tag, semver or commit (has %d)", refs)
		}
		c.duration(f+".syncInterval", g.SyncInterval, time.Second)
		c.duration(f+".timeout", g.Timeout, time.Second)
		c.secret(f+".httpsKey", g.HTTPSKey)
		c.secret(f+".sshPrivateKey", g.SSHPrivateKey)
		if g.HTTPSUser != "" && g.HTTPSKey == "" && g.LocalAuthRef == "" {
			c.bad(f+".httpsKey", "is required with httpsUser")
		}
		if !c.skip(g.URL) && g.SSHPrivateKey != "" && strings.HasPrefix(g.URL, "http") {
			c.bad(f+".sshPrivateKey", "is only used with ssh:// or git@ URLs, not %q", g.URL)
		}
		if !c.skip(g.URL) && (g.HTTPSKey != "" || g.HTTPSUser != "") && !strings.HasPrefix(g.URL, "http") {
			c.bad(f+".httpsUser", "httpsUser/httpsKey are only used with http(s) URLs, not %q", g.URL)
		}
	}
	if b := s.Bucket; b != nil {
		sources++
		f := "flux.bucket"
		if c.required(f+".url", b.URL) {
			c.url(f+".url", b.URL, "https", "http")
		}
		c.required(f+".bucketName", b.BucketName)
		c.duration(f+".syncInterval", b.SyncInterval, time.Second)
		c.duration(f+".timeout", b.Timeout, time.Second)
		c.secret(f+".secretKey", b.SecretKey)
		if (b.AccessKey == "") != (b.SecretKey == "") {
			c.bad(f, "accessKey and secretKey go together")
		}
	}
	if a := s.AzureBlob; a != nil {
		sources++
		f := "flux.azureBlob"
		if c.required(f+".url", a.URL) {
			c.url(f+".url", a.URL, "https", "http")
		}
		c.required(f+".containerName", a.ContainerName)
		c.duration(f+".syncInterval", a.SyncInterval, time.Second)
		c.duration(f+".timeout", a.Timeout, time.Second)
		c.secret(f+".accountKey", a.AccountKey)
		c.secret(f+".sasToken", a.SASToken)
		auth := 0
		for _, v := range []string{a.AccountKey, a.SASToken, a.ManagedIdentityClientID, a.LocalAuthRef} {
			if v != "" {
				auth++
			}
		}
		if auth > 1 {
			c.bad(f, "give only one of accountKey, sasToken, managedIdentityClientId, localAuthRef")
		}
	}
	if sources != 1 {
		c.bad("flux", "needs exactly one source: gitRepository, bucket or azureBlob (has %d)", sources)
	}
	names := map[string]bool{}
	for _, k := range s.Kustomizations {
		names[k.Name] = true
	}
	seen := map[string]bool{}
	for i, k := range s.Kustomizations {
		f := fmt.Sprintf("flux.kustomizations[%d]", i)
		if c.required(f+".name", k.Name) {
			c.match(f+".name", k.Name, reDNSLabel, "a DNS label")
			if seen[k.Name] {
				c.bad(f+".name", "%q is declared twice", k.Name)
			}
			seen[k.Name] = true
			if !c.skip(k.Name) && !c.skip(s.Name) && len(s.Name)+len(k.Name) > 62 {
				c.add(CodeNameTooLong, LevelError, f+".name", "configuration name %q plus kustomization name %q is %d characters; Flux allows 62", s.Name, k.Name, len(s.Name)+len(k.Name))
			}
		}
		for j, d := range k.DependsOn {
			if c.skip(d) {
				continue
			}
			if d == k.Name {
				c.add(CodeDependsOn, LevelError, fmt.Sprintf("%s.dependsOn[%d]", f, j), "kustomization %q depends on itself", d)
			} else if !names[d] {
				c.add(CodeDependsOn, LevelError, fmt.Sprintf("%s.dependsOn[%d]", f, j), "%q is not a kustomization of this configuration", d)
			}
		}
		if k.Prune {
			c.add(CodePrune, LevelWarning, f+".prune", "prune deletes objects removed from the source, and deleting the configuration deletes everything kustomization %q deployed", k.Name)
		}
		c.duration(f+".syncInterval", k.SyncInterval, time.Second)
		c.duration(f+".retryInterval", k.RetryInterval, time.Second)
		c.duration(f+".timeout", k.Timeout, time.Second)
		if pb := k.PostBuild; pb != nil {
			for j, sf := range pb.SubstituteFrom {
				g := fmt.Sprintf("%s.postBuild.substituteFrom[%d]", f, j)
				if sf.Kind != "ConfigMap" && sf.Kind != "Secret" && !c.skip(sf.Kind) {
					c.bad(g+".kind", "%q is not ConfigMap or Secret", sf.Kind)
				}
				c.required(g+".name", sf.Name)
			}
		}
	}
	if hasCycle(s.Kustomizations) {
		c.add(CodeDependsOn, LevelError, "flux.kustomizations", "dependsOn forms a cycle")
	}
}

func hasCycle(ks []Kustomization) bool {
	deps := map[string][]string{}
	for _, k := range ks {
		deps[k.Name] = k.DependsOn
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) bool
	visit = func(n string) bool {
		switch state[n] {
		case 1:
			return true
		case 2:
			return false
		}
		state[n] = 1
		for _, d := range deps[n] {
			if d != n && visit(d) {
				return true
			}
		}
		state[n] = 2
		return false
	}
	for _, k := range ks {
		if visit(k.Name) {
			return true
		}
	}
	return false
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

// Validate checks every step of every action (templates unresolved) and
// returns every problem at error level at once.
func (a Actions) Validate() error {
	var errs []error
	for _, name := range a.Names() {
		for i, s := range a[name] {
			if ps := errorsOnly(validateStep(s, name, !isCoreAction(name), false, nil)); len(ps) > 0 {
				errs = append(errs, &StepError{Action: name, Number: i + 1, Description: s.Description, Problems: ps})
			}
		}
	}
	return errors.Join(errs...)
}

func isCoreAction(a string) bool { return a == "install" || a == "upgrade" || a == "uninstall" }
