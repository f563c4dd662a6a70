package bundles_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
	"github.com/edgeframe/edgeframe/test/testkit"
)

const sampleKubeconfig = "# the operator's current context\n"

// Every action of every bundle runs in its invocation image (helm3, no helm) for every level
// and delivery: the exec steps' scripts find their tools, the helm3 steps their charts and
// values files, each action its kubeconfig (D1; the offline bundle and the all-in-one run
// without az).
func TestActionsRunInTheInvocationImage(t *testing.T) {
	testkit.SkipShort(t, "bash running every action script of every bundle, level and delivery against fake tools (seconds)")
	for _, b := range loadBundles(t) {
		for _, level := range b.levels() {
			deliveryValues := []string{""}
			if _, ok := b.named("parameters")["delivery"]; ok {
				deliveryValues = deliveries
			}
			for _, d := range deliveryValues {
				for _, action := range []string{"install", "upgrade", "uninstall"} {
					name := strings.Trim(strings.Join([]string{b.Name, level, d, action}, "/"), "/")
					t.Run(strings.ReplaceAll(name, "//", "/"), func(t *testing.T) {
						smp := newSamples(t, b, level)
						if d != "" {
							smp.params["delivery"] = d
						}
						ct := newContainer(t, b, action, &smp, sampleCreds(sampleKubeconfig))
						if err := ct.action(action); err != nil {
							t.Fatal(err)
						}
						calls := strings.Join(ct.im.calls(t), "\n")
						if d == "offline" && action != "uninstall" && !strings.Contains(calls, "helm3 upgrade --install edge-workloads ./charts/edge-workloads") {
							t.Errorf("delivery=offline did not install the workloads with helm3:\n%s", calls)
						}
						if b.Name == "offline" && level != "l3" && action == "install" && !strings.Contains(calls, "helm3 upgrade --install edge-workloads") {
							t.Errorf("the offline bundle did not install the workloads:\n%s", calls)
						}
						if _, hasAz := b.mixinsOf()["az"]; !hasAz && strings.Contains(calls, "\naz ") {
							t.Errorf("%s declares no az mixin but calls az", b.Name)
						}
					})
				}
			}
		}
	}
}

// Every action runs in a fresh container: with create-cluster=true the infrastructure bundle
// fetches the AKS kubeconfig itself in install, upgrade and uninstall, both without a
// kubeconfig credential and with the example set's (the operator's current context, which it
// must not act on) (D9: uninstall did not).
func TestInfrastructureUninstallFetchesItsKubeconfig(t *testing.T) {
	testkit.SkipShort(t, "bash running the infrastructure action scripts against fake tools (about 1 s)")
	infra := byName(t)["infrastructure"]
	for _, kc := range []string{"", sampleKubeconfig} {
		for _, action := range []string{"install", "upgrade", "uninstall"} {
			t.Run(fmt.Sprintf("%s/credential=%t", action, kc != ""), func(t *testing.T) {
				infraActionOnAKS(t, infra, action, kc)
			})
		}
	}
}

// infraActionOnAKS runs the infrastructure action with create-cluster=true in a fresh
// container and checks that every Helm and kubectl call went to the AKS cluster.
func infraActionOnAKS(t *testing.T, infra bundle, action, kubeconfig string) {
	smp := newSamples(t, infra, "l3")
	smp.params["create-cluster"] = "true"
	ct := newContainer(t, infra, action, &smp, sampleCreds(kubeconfig))
	if err := ct.action(action); err != nil {
		t.Fatal(err)
	}
	var kubeCalls int
	for _, c := range ct.im.calls(t) {
		tool, _, _ := strings.Cut(c, " ")
		if tool != "helm3" && tool != "kubectl" {
			continue
		}
		kubeCalls++
		if !strings.HasSuffix(c, "kubeconfig=# AKS cluster edge-l3") {
			t.Errorf("%q: not on the AKS cluster the bundle created", c)
		}
	}
	if kubeCalls == 0 {
		t.Errorf("%s touched no cluster: %v", action, ct.im.calls(t))
	}
}

// sampleOutputs are what `porter installation outputs show` prints for each output.
var sampleOutputs = map[string]string{
	"proxy-address":        "10.4.0.200",
	"broker-address":       "10.4.0.201",
	"vnet-id":              sampleParams["parent-vnet-id"],
	"connected-cluster-id": sampleParams["connected-cluster-id"],
	"oidc-issuer-url":      sampleParams["oidc-issuer-url"],
}

// fakePorter answers `porter installation outputs show OUTPUT -i INSTALLATION` like porter:
// the value and a newline.
func fakePorter(t *testing.T) string {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("#!/bin/bash\n[[ \"$1 $2 $3\" == \"installation outputs show\" && \"$5\" == -i ]] || { echo \"fake porter: $*\" >&2; exit 2; }\ncase \"$4\" in\n")
	for k, v := range sampleOutputs {
		fmt.Fprintf(&b, "%s) echo '%s' ;;\n", k, v)
	}
	b.WriteString("*) echo \"Error: output $4 not found\" >&2; exit 1 ;;\nesac\n")
	if err := os.WriteFile(filepath.Join(dir, "porter"), []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// resolveCommand runs a command source the way porter does: split on spaces, no shell,
// combined output untrimmed, from the directory porter runs in (the repository root).
func resolveCommand(t *testing.T, command, porterDir string) (string, error) {
	parts := strings.Split(command, " ")
	path := porterDir + ":" + os.Getenv("PATH")
	cmd := exec.Command(parts[0], parts[1:]...)
	cmd.Dir = root(t)
	cmd.Env = []string{"PATH=" + path, "HOME=" + t.TempDir()}
	if !strings.Contains(parts[0], "/") { // looked up on porter's PATH (exec.Command used the test's)
		cmd.Path, cmd.Err = "", fmt.Errorf("%s: not found on PATH", parts[0])
		for _, d := range filepath.SplitList(path) {
			if fi, err := os.Stat(filepath.Join(d, parts[0])); err == nil && fi.Mode()&0o111 != 0 {
				cmd.Path, cmd.Err = filepath.Join(d, parts[0]), nil
				break
			}
		}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// paramSchema is the JSON schema porter validates a parameter's value against.
func paramSchema(t *testing.T, p map[string]any) *jsonschema.Schema {
	t.Helper()
	s := map[string]any{}
	for _, k := range []string{"type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum"} {
		if v, ok := p[k]; ok {
			s[k] = v
		}
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("param.json", s); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("param.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// The example sets' command sources resolve, run as porter runs them, to values their
// parameters accept; a parameter fed by a command declares a pattern that refuses what a
// shell-ism would produce (D3).
func TestExampleSetsResolveLikePorter(t *testing.T) {
	bundles := byName(t)
	porterDir := fakePorter(t)
	files, _ := filepath.Glob(filepath.Join(root(t), "bundles", "*", "examples", "params*.yaml"))
	commands := 0
	for _, f := range files {
		b := bundles[filepath.Base(filepath.Dir(filepath.Dir(f)))]
		var set struct {
			Parameters []struct {
				Name   string
				Source map[string]any
			}
		}
		if err := readYAML(f, &set); err != nil {
			t.Fatal(err)
		}
		for _, p := range set.Parameters {
			command, ok := p.Source["command"].(string)
			if !ok {
				continue
			}
			commands++
			where := fmt.Sprintf("%s: %s", strings.TrimPrefix(f, root(t)+"/"), p.Name)
			decl := b.named("parameters")[p.Name]
			if _, ok := decl["pattern"]; !ok && decl["type"] == "string" {
				t.Errorf("%s: fed by a command but declares no pattern: porter would accept garbage", where)
			}
			val, err := resolveCommand(t, command, porterDir)
			if err != nil {
				t.Errorf("%s: command %q: %v\n%s", where, command, err, val)
				continue
			}
			if err := paramSchema(t, decl).Validate(val); err != nil {
				t.Errorf("%s: command %q gives %q, which porter refuses: %v", where, command, val, err)
			}
			// What a shell-ism gives under porter must be refused, not accepted silently.
			for _, garbage := range []string{"\"$(porter installation outputs show proxy-address -i edge-l4-infrastructure):8883\"\n", val + "\n"} {
				if paramSchema(t, decl).Validate(garbage) == nil {
					t.Errorf("%s: accepts %q", where, garbage)
				}
			}
		}
	}
	if commands < 10 {
		t.Errorf("only %d command sources", commands)
	}
}

// porterCommand is one `porter …` line of a README flow, variables expanded.
type porterCommand struct {
	Line string
	Args []string
}

// readmeFlows returns the porter commands of each bash block of bundles/README.md.
func readmeFlows(t *testing.T) [][]porterCommand {
	src, err := os.ReadFile(filepath.Join(root(t), "bundles", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var flows [][]porterCommand
	var cur []porterCommand
	in := false
	vars := map[string]string{}
	assign := regexp.MustCompile(`^([A-Z]+)=(\S+)$`)
	var pending string
	sc := bufio.NewScanner(strings.NewReader(string(src)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```bash"):
			in, cur = true, nil
			continue
		case in && strings.HasPrefix(line, "```"):
			in = false
			flows = append(flows, cur)
			continue
		case !in:
			continue
		}
		if c, _, found := strings.Cut(line, "#"); found {
			line = c
		}
		line = strings.TrimSpace(line)
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, pending = pending+line, ""
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			if m := assign.FindStringSubmatch(part); m != nil {
				vars[m[1]] = m[2]
				continue
			}
			for k, v := range vars {
				part = strings.ReplaceAll(part, "$"+k, v)
			}
			if f := strings.Fields(part); len(f) > 1 && f[0] == "porter" {
				cur = append(cur, porterCommand{Line: part, Args: f[1:]})
			}
		}
	}
	return flows
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// Every porter flow of bundles/README.md is one porter accepts: the sets it applies exist,
// the sets and bundles it names are those files' and the reference's, and a custom action on
// an installation no earlier command of the flow installed is stateless and non-modifying
// (D2: porter answers "Installation not found" otherwise).
func TestReadmeFlowsFollowPorterRules(t *testing.T) {
	bundles := byName(t)
	byRef := map[string]bundle{}
	for _, b := range bundles {
		byRef[fmt.Sprint(b.M["name"])] = b
	}
	setNames := map[string]string{} // set name -> file
	files, _ := filepath.Glob(filepath.Join(root(t), "bundles", "*", "examples", "*.yaml"))
	for _, f := range files {
		var s struct{ Name string }
		if err := readYAML(f, &s); err != nil {
			t.Fatal(err)
		}
		setNames[s.Name] = f
	}
	flows := readmeFlows(t)
	seen := map[string]int{}
	for i, flow := range flows {
		installed := map[string]bundle{}
		for _, c := range flow {
			verb := c.Args[0]
			seen[verb]++
			switch verb {
			case "credentials", "parameters":
				if len(c.Args) < 3 || c.Args[1] != "apply" {
					continue
				}
				if _, err := os.Stat(filepath.Join(root(t), c.Args[2])); err != nil {
					t.Errorf("flow %d: %q: %v", i, c.Line, err)
				}
				continue
			}
			for _, fl := range []string{"--credential-set", "--parameter-set"} {
				if n := flagValue(c.Args, fl); n != "" && setNames[n] == "" {
					t.Errorf("flow %d: %q: no example set is named %s", i, c.Line, n)
				}
			}
			if verb != "install" && verb != "upgrade" && verb != "uninstall" && verb != "invoke" {
				continue
			}
			inst := c.Args[1]
			b, known := installed[inst]
			if ref := flagValue(c.Args, "--reference"); ref != "" {
				name := ref[strings.LastIndex(ref, "/")+1:]
				name, _, _ = strings.Cut(name, ":")
				if b, known = byRef[name]; !known {
					t.Errorf("flow %d: %q: no bundle is named %s", i, c.Line, name)
					continue
				}
			}
			if !known {
				// An installation of an earlier flow (uninstall after install): find its bundle by name.
				for _, cand := range bundles {
					if strings.HasSuffix(inst, "-"+cand.Name) || (cand.Name == "all-in-one" && inst == "edgeframe") {
						b, known = cand, true
					}
				}
				if !known {
					t.Errorf("flow %d: %q: which bundle is installation %s?", i, c.Line, inst)
					continue
				}
			}
			if ps := flagValue(c.Args, "--parameter-set"); ps != "" && setNames[ps] != "" {
				if got := filepath.Base(filepath.Dir(filepath.Dir(setNames[ps]))); got != b.Name && b.Name != "all-in-one" {
					t.Errorf("flow %d: %q: parameter set %s is the %s bundle's, not %s's", i, c.Line, ps, got, b.Name)
				}
			}
			switch verb {
			case "install":
				installed[inst] = b
			case "invoke":
				action := flagValue(c.Args, "--action")
				ca, _ := b.M["customActions"].(map[string]any)
				decl, ok := ca[action].(map[string]any)
				if !ok {
					t.Errorf("flow %d: %q: %s declares no custom action %s", i, c.Line, b.Name, action)
					continue
				}
				if _, before := installed[inst]; !before && (decl["stateless"] != true || decl["modifies"] != false) {
					t.Errorf("flow %d: %q: %s is not stateless: true, modifies: false, so porter answers \"Installation not found\" on an installation no earlier step installed", i, c.Line, action)
				}
			}
		}
	}
	for _, verb := range []string{"install", "uninstall", "upgrade", "parameters", "credentials"} {
		if seen[verb] == 0 {
			t.Errorf("no README flow runs porter %s", verb)
		}
	}
	// Each documented flow is a bundle of test/bundles: per level, offline site, all-in-one.
	text, _ := os.ReadFile(filepath.Join(root(t), "bundles", "README.md"))
	for _, want := range []string{"porter install edge-$L-infrastructure", "porter install edge-$L-offline", "porter install edgeframe ", "porter uninstall edge-$L-offline", "porter uninstall edgeframe "} {
		if !strings.Contains(string(text), want) {
			t.Errorf("bundles/README.md documents no %q flow", want)
		}
	}
}

// wellKnownEnv are variables whose meaning a parameter must not change by accident: every
// tool in the image reads them.
var wellKnownEnv = []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "FTP_PROXY", "HOME", "PATH",
	"USER", "SHELL", "PWD", "TMPDIR", "LANG", "TZ", "KUBECONFIG", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"AZURE_CONFIG_DIR", "AZURE_CLOUD"}

var wellKnownPrefixes = []string{"HELM_", "KUBE", "CNAB_", "PORTER_", "AZURE_CORE_", "AZURE_BICEP_", "DOTNET_", "LC_"}

// No parameter or credential becomes an environment variable that changes the tools of the
// invocation image: porter names one without a destination after it, in upper case (D5).
func TestImplicitEnvNamesDoNotCollide(t *testing.T) {
	for _, b := range loadBundles(t) {
		for _, kind := range []string{"parameters", "credentials"} {
			for n, e := range b.named(kind) {
				name := envName(e)
				if name == "" {
					continue
				}
				bad := slices.Contains(wellKnownEnv, name)
				for _, p := range wellKnownPrefixes {
					bad = bad || strings.HasPrefix(name, p)
				}
				if bad {
					how := "explicit env"
					if _, ok := e["env"]; !ok {
						how = "implicit name"
					}
					t.Errorf("%s: %s %s becomes %s (%s), a variable the image's tools read: give it another destination", b.Name, kind, n, name, how)
				}
			}
		}
	}
	// The proxy settings reach the Arc agents through the connect step, not the environment.
	infra := byName(t)["infrastructure"]
	s := connectStep(t, infra)
	proxy, _ := s.Body["connect"].(map[string]any)["proxy"].(map[string]any)
	for field, param := range map[string]string{"httpProxy": "http-proxy", "httpsProxy": "https-proxy", "noProxy": "no-proxy", "caCertFile": "proxy-ca-cert"} {
		if proxy[field] != "${ bundle.parameters."+param+" }" {
			t.Errorf("connect proxy.%s is %v, want the %s parameter", field, proxy[field], param)
		}
	}
}

// The bundles that run az build on a pinned base where their packages exist, and nothing
// their steps need at run time is installed under /root (the image runs as nonroot) (D4).
func TestInvocationImageTemplate(t *testing.T) {
	tmplPath := filepath.Join(root(t), "bundles", "template.Dockerfile")
	src, err := os.ReadFile(tmplPath)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := string(src)
	from := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(tmpl, -1)
	if len(from) != 1 || from[0][1] != "debian:12-slim" {
		t.Errorf("template FROM %v, want exactly debian:12-slim (porter's default debian:stable-slim is Debian 13, where libicu72 is gone)", from)
	}
	for _, want := range []string{"# PORTER_INIT", "# PORTER_MIXINS", "COPY --link . ${BUNDLE_DIR}",
		"install -m 0755 /tmp/az-build/bin/bicep /usr/local/bin/bicep", "AZURE_BICEP_USE_BINARY_FROM_PATH=true"} {
		if !strings.Contains(tmpl, want) {
			t.Errorf("template lacks %q", want)
		}
	}
	if strings.Index(tmpl, "# PORTER_MIXINS") > strings.Index(tmpl, "RUN AZURE_CONFIG_DIR=") {
		t.Error("the template runs az before the az mixin's lines install it")
	}
	for _, line := range strings.Split(tmpl, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") && (strings.Contains(line, "/root") || strings.Contains(line, "~/")) {
			t.Errorf("template writes under root's home: %s", line)
		}
	}
	// The packages the template installs exist in the pinned release (this machine is Debian 12).
	if osr, _ := os.ReadFile("/etc/os-release"); strings.Contains(string(osr), `VERSION_ID="12"`) {
		icu := regexp.MustCompile(`ARG BICEP_ICU=(\S+)`).FindStringSubmatch(tmpl)
		if icu == nil {
			t.Error("template: no ARG BICEP_ICU")
		} else if out, err := exec.Command("apt-cache", "show", icu[1]).CombinedOutput(); err != nil {
			t.Errorf("%s is not a Debian 12 package: %v\n%s", icu[1], err, out)
		}
	}
	for _, b := range loadBundles(t) {
		cfg, usesAz := b.mixinsOf()["az"]
		if !usesAz {
			continue
		}
		if b.M["dockerfile"] != "template.Dockerfile" {
			t.Errorf("%s runs az on porter's default base image: want dockerfile: template.Dockerfile", b.Name)
		}
		if cfg["installBicep"] == true {
			t.Errorf("%s: the az mixin's installBicep runs `az bicep install` as root: Bicep lands in /root/.azure, which nonroot never reads", b.Name)
		}
	}
	// What arcflux's build adds to every image (porter runs `arcflux build` with the bundle's
	// arcflux steps) installs nothing under /root either.
	for _, b := range loadBundles(t) {
		cfg, uses := b.mixinsOf()["arcflux"]
		if !uses {
			continue
		}
		in := map[string]any{"actions": b.mixinActions("arcflux")}
		if cfg != nil {
			in["config"] = cfg
		}
		data, err := yaml.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		m := &arcflux.Mixin{In: bytes.NewReader(data), Out: &out, Err: &out}
		if err := m.Build(); err != nil {
			t.Errorf("%s: arcflux build: %v", b.Name, err)
		}
		if strings.Contains(out.String(), "/root") {
			t.Errorf("%s: arcflux build writes under /root:\n%s", b.Name, out.String())
		}
	}
	// build/bundles/build.sh stages the template next to every manifest that names it.
	script, _ := os.ReadFile(filepath.Join(root(t), "build", "bundles", "build.sh"))
	if !strings.Contains(string(script), `cp bundles/template.Dockerfile "$dst/template.Dockerfile"`) {
		t.Error("build/bundles/build.sh does not stage bundles/template.Dockerfile")
	}
}

// buildContext copies what Docker sends as the build context of dir (its .dockerignore
// applied with Docker's own matcher) into a temporary directory and returns it.
func buildContext(t *testing.T, dir string) string {
	t.Helper()
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if excluded && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if excluded {
			return nil
		}
		dst := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(dst, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The all-in-one invocation image holds only what its steps use: the build context of the
// repository root is porter.yaml, the charts and profile its helm3 steps install and the
// script its exec step runs; .cnab (porter's output) stays out of git (D7).
func TestAllInOneBuildContext(t *testing.T) {
	r := root(t)
	ctx := buildContext(t, r)
	var size int64
	var files []string
	_ = filepath.WalkDir(ctx, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(ctx, p)
			files = append(files, rel)
			if info, e := os.Lstat(p); e == nil {
				size += info.Size()
			}
		}
		return err
	})
	used := map[string]bool{"porter.yaml": true}
	aio := byName(t)["all-in-one"]
	for _, s := range aio.allSteps() {
		refs := append([]string{fmt.Sprint(s.Body["chart"])}, strs(s.Body["values"])...)
		refs = append(refs, strs(s.Body["arguments"])...)
		for _, ref := range refs {
			if strings.HasPrefix(ref, "./") {
				used[strings.TrimPrefix(ref, "./")] = true
			}
		}
	}
	for u := range used {
		if _, err := os.Stat(filepath.Join(ctx, u)); err != nil {
			t.Errorf("the build context lacks %s, which a step uses", u)
		}
	}
	for _, f := range files {
		ok := false
		for u := range used {
			ok = ok || f == u || strings.HasPrefix(f, u+"/")
		}
		// Charts reach the library chart through charts/<chart>/charts/edge-lib -> ../../edge-lib.
		ok = ok || strings.HasPrefix(f, "charts/edge-lib/")
		if !ok {
			t.Errorf("the build context holds %s, which no step uses", f)
		}
	}
	t.Logf("all-in-one build context: %d files, %d KiB (without porter's .cnab)", len(files), size/1024)
	if size > 2<<20 {
		t.Errorf("build context %d bytes: more than 2 MiB", size)
	}
	gi, _ := os.ReadFile(filepath.Join(r, ".gitignore"))
	if !regexp.MustCompile(`(?m)^/?\.cnab/?$`).Match(gi) {
		t.Error(".gitignore does not ignore .cnab/ (porter build's output in every bundle directory)")
	}
}

// build/bundles/build.sh lints every staged bundle, and builds only when all are clean; without a Docker
// daemon it still lints all of them (D8). It runs on a copy of the repository with a fake
// porter (porter build needs the daemon) and a fake go (the proofs are this package).
func TestBuildScriptLintsEveryBundleThenBuilds(t *testing.T) {
	testkit.SkipShort(t, "bundles/build.sh run on a copy of the tree, three times (seconds)")
	r := root(t)
	var want []string // every bundle, staged under bin/bundles
	for _, b := range loadBundles(t) {
		want = append(want, "bin/bundles/"+b.Name)
	}
	for _, tc := range []struct {
		name          string
		daemon        bool
		lintError     string // directory whose lint reports an error
		wantBuilds    bool
		wantExitError bool
	}{
		{"no docker daemon", false, "", false, false},
		{"docker daemon", true, "", true, false},
		{"lint error in a level bundle", true, "bin/bundles/application", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			copyRoot := t.TempDir()
			for _, p := range []string{"porter.yaml", ".dockerignore", "charts", "bundles", "build"} {
				if out, err := exec.Command("cp", "-R", filepath.Join(r, p), copyRoot).CombinedOutput(); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
			}
			bin := t.TempDir()
			log := filepath.Join(bin, "calls.log")
			daemon := "exit 1"
			if tc.daemon {
				daemon = "exit 0"
			}
			fakes := map[string]string{
				"go":     "#!/bin/bash\nexit 0\n",
				"docker": "#!/bin/bash\n" + daemon + "\n",
				"porter": fmt.Sprintf(`#!/bin/bash
d=$(pwd); d=${d#%s}; d=${d#/}; d=${d:-.}
echo "$d $*" >> %s
if [[ "$1" == build ]] && ! docker info >/dev/null 2>&1; then echo "Error: Cannot connect to the Docker daemon" >&2; exit 1; fi
if [[ "$1" == lint && "$d" == "%s" ]]; then printf 'error(arcflux-100) - Invalid step field\ninstall: 2nd step in the arcflux mixin (x)\n---\n'; fi
exit 0
`, copyRoot, log, tc.lintError),
			}
			for n, s := range fakes {
				if err := os.WriteFile(filepath.Join(bin, n), []byte(s), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("bash", filepath.Join(copyRoot, "build", "bundles", "build.sh"))
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + t.TempDir(), "GO=" + filepath.Join(bin, "go")}
			out, err := cmd.CombinedOutput()
			if (err != nil) != tc.wantExitError {
				t.Fatalf("exit %v, want error %v\n%s", err, tc.wantExitError, out)
			}
			calls, _ := os.ReadFile(log)
			var lints, builds []string
			lastLint, firstBuild := -1, -1
			for i, l := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
				dir, verb, _ := strings.Cut(l, " ")
				switch verb {
				case "lint":
					lints, lastLint = append(lints, dir), i
				case "build":
					builds = append(builds, dir)
					if firstBuild < 0 {
						firstBuild = i
					}
				}
			}
			slices.Sort(lints)
			sortedWant := slices.Sorted(slices.Values(want))
			if !slices.Equal(lints, sortedWant) {
				t.Errorf("linted %v, want every bundle %v\n%s", lints, sortedWant, out)
			}
			if tc.wantBuilds {
				slices.Sort(builds)
				if !slices.Equal(builds, sortedWant) || firstBuild < lastLint {
					t.Errorf("builds %v (first at call %d, last lint at %d): want every bundle, after all lints\n%s", builds, firstBuild, lastLint, calls)
				}
			} else if len(builds) > 0 {
				t.Errorf("built %v: want none\n%s", builds, out)
			}
			if !tc.daemon && !strings.Contains(string(out), "no Docker daemon") {
				t.Errorf("no word about the missing daemon:\n%s", out)
			}
			if tc.lintError != "" && !strings.Contains(string(out), "porter lint found errors in: "+tc.lintError) {
				t.Errorf("the lint error is not reported:\n%s", out)
			}
		})
	}
}
