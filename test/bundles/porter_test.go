package bundles_test

// A model of what Porter v1.6 and its mixins do at run time, for the tests that must not
// assume Porter behaves like a shell (see ../shared/docs/porter-runtime.md):
//   - the invocation image's PATH has the helm3 mixin's `helm3` (and its kubectl), the az
//     mixin's `az`, bash and coreutils — no `helm`;
//   - every action runs in a fresh container (user nonroot, home /home/nonroot): files an
//     earlier action wrote are gone;
//   - exec steps run command + arguments + flags as an argv, no shell, from the bundle
//     directory; parameters and credentials reach the container as files (path) or
//     environment variables (env, else the name in upper case with - turned into _).
// The external tools are fakes that record their calls, check what the real ones would need
// (a kubeconfig, the chart and values files) and fail like them when it is missing.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// imageTools are the system tools the invocation image's scripts use (Debian base image).
var imageTools = []string{"bash", "sh", "env", "dirname", "basename", "mkdir", "mktemp", "rm", "cat",
	"tr", "awk", "sort", "cut", "grep", "sed", "head", "tail", "cp", "ls", "true", "false", "install", "printf", "sleep"}

// fakeTools are the mixins' tools: each logs "<tool> <args> | kubeconfig=<first line>" to
// $FAKE_LOG. helm3 and kubectl fail like the real ones without a kubeconfig; helm3 checks the
// local chart and values files it is given; az writes a kubeconfig on aks get-credentials.
const fakeTool = `#!/bin/bash
tool=$(basename "$0")
kc="${KUBECONFIG:-$HOME/.kube/config}"
first=""
[[ -s "$kc" ]] && first=$(head -n1 "$kc")
echo "$tool $* | kubeconfig=$first" >> "$FAKE_LOG"
case "$tool" in
helm3|kubectl)
  if [[ ! -s "$kc" ]]; then echo "Error: Kubernetes cluster unreachable: $kc: no such file" >&2; exit 1; fi
  if [[ "$tool" == helm3 ]]; then
    prev=""
    for a in "$@"; do
      if [[ "$prev" == --values ]] && [[ ! -f "$a" ]]; then echo "Error: open $a: no such file or directory" >&2; exit 1; fi
      prev="$a"
    done
    if [[ "$1" == upgrade && "$2" == --install && "$4" == ./* && ! -d "$4" ]]; then echo "Error: path \"$4\" not found" >&2; exit 1; fi
  fi ;;
az)
  if [[ "$1 $2" == "aks get-credentials" ]]; then
    prev="" name="" file=""
    for a in "$@"; do
      [[ "$prev" == --name ]] && name="$a"
      [[ "$prev" == --file ]] && file="$a"
      prev="$a"
    done
    mkdir -p "$(dirname "$file")"
    echo "# AKS cluster $name" > "$file"
  fi
  [[ "$*" == *"--output json"* ]] && echo '{}' ;;
esac
exit 0
`

// image is an invocation image: its PATH (tools only, no `helm`) and the fake tools' log.
type image struct {
	Bin, Log string
}

func newImage(t *testing.T, fakes ...string) image {
	t.Helper()
	dir := t.TempDir()
	im := image{Bin: filepath.Join(dir, "bin"), Log: filepath.Join(dir, "calls.log")}
	if err := os.MkdirAll(im.Bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range imageTools {
		p, err := exec.LookPath(tool)
		if err != nil {
			continue // a shell builtin (printf) or absent: the scripts fall back to the builtin
		}
		if err := os.Symlink(p, filepath.Join(im.Bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fakes {
		if err := os.WriteFile(filepath.Join(im.Bin, f), []byte(fakeTool), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(im.Log, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return im
}

// calls returns the logged calls of the fake tools.
func (im image) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(im.Log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// mixinsOf lists the mixins a bundle declares.
func (b bundle) mixinsOf() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, m := range b.M["mixins"].([]any) {
		switch x := m.(type) {
		case string:
			out[x] = nil
		case map[string]any:
			for k, v := range x {
				cfg, _ := v.(map[string]any)
				out[k] = cfg
			}
		}
	}
	return out
}

// imageFor is the invocation image of b: helm3 brings helm3 and kubectl, az brings az.
func imageFor(t *testing.T, b bundle) image {
	var fakes []string
	ms := b.mixinsOf()
	if _, ok := ms["helm3"]; ok {
		fakes = append(fakes, "helm3", "kubectl")
	}
	if _, ok := ms["az"]; ok {
		fakes = append(fakes, "az")
	}
	return newImage(t, fakes...)
}

// container is one run of one action: a fresh home, the bundle directory, the environment.
type container struct {
	t     *testing.T
	b     bundle
	im    image
	home  string
	app   string
	env   []string
	smp   *samples
	trace []string
}

// creds are the credential values given to a run; a nil files entry leaves that file out.
type creds struct {
	Values map[string]string // env credentials
	Files  map[string]string // path credentials: content
}

// appDir is /cnab/app: for a level bundle what build/bundles/build.sh stages next to the manifest,
// for the all-in-one bundle the Docker build context of the repository root.
func appDir(t *testing.T, b bundle) string {
	if b.Name == "all-in-one" {
		return buildContext(t, root(t))
	}
	dir := t.TempDir()
	for name, target := range map[string]string{
		"charts":  filepath.Join(root(t), "charts"),
		"scripts": filepath.Join(root(t), "bundles", "scripts"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(b.Dir)
	for _, e := range entries {
		if e.Name() == "charts" || e.Name() == "scripts" {
			continue
		}
		if err := os.Symlink(filepath.Join(b.Dir, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// envName is the environment variable porter gives a parameter or credential ("" for a file).
func envName(entry map[string]any) string {
	if e, ok := entry["env"].(string); ok {
		return e
	}
	if _, ok := entry["path"]; ok {
		return ""
	}
	return strings.ToUpper(strings.ReplaceAll(entry["name"].(string), "-", "_"))
}

func newContainer(t *testing.T, b bundle, action string, smp *samples, c creds) *container {
	t.Helper()
	ct := &container{t: t, b: b, im: imageFor(t, b), home: t.TempDir(), smp: smp}
	ct.app = appDir(t, b)
	ct.env = []string{"PATH=" + ct.im.Bin, "HOME=" + ct.home, "USER=nonroot", "FAKE_LOG=" + ct.im.Log}
	for n, p := range b.named("parameters") {
		if !appliesTo(p, action) {
			continue
		}
		if e := envName(p); e != "" {
			ct.env = append(ct.env, e+"="+smp.params[n])
		}
	}
	for n, cr := range b.named("credentials") {
		if !appliesTo(cr, action) {
			continue
		}
		if p, ok := cr["path"].(string); ok {
			if content, given := c.Files[n]; given {
				f := ct.path(p)
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		if v, ok := c.Values[n]; ok {
			ct.env = append(ct.env, envName(cr)+"="+v)
		}
	}
	return ct
}

// path maps a path in the image to the test's file system.
func (ct *container) path(p string) string {
	if rest, ok := strings.CutPrefix(p, "/home/nonroot"); ok {
		return ct.home + rest
	}
	if rest, ok := strings.CutPrefix(p, "/cnab/app"); ok {
		return ct.app + rest
	}
	return p
}

// remap rewrites image paths in a resolved step body.
func (ct *container) remap(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(strings.ReplaceAll(x, "/home/nonroot", ct.home), "/cnab/app", ct.app)
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = ct.remap(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ct.remap(e)
		}
		return out
	}
	return v
}

// flagArgs formats exec/az flags the way porter's exec builder does: sorted, --name value.
func flagArgs(flags map[string]any) []string {
	var names []string
	for k := range flags {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []string
	for _, k := range names {
		dash := "--"
		if len(k) == 1 {
			dash = "-"
		}
		out = append(out, dash+k)
		if v := fmt.Sprint(flags[k]); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func strs(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// run executes the tool argv in the container; it returns the combined output.
func (ct *container) run(extraEnv map[string]any, argv ...string) (string, error) {
	path := filepath.Join(ct.im.Bin, argv[0])
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s: command not found in the invocation image (exit 127)", argv[0])
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Dir = ct.app
	cmd.Env = append([]string{}, ct.env...)
	for k, v := range extraEnv {
		cmd.Env = append(cmd.Env, k+"="+fmt.Sprint(v))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// step runs one step of the action as its mixin would.
func (ct *container) step(s step) error {
	body := ct.remap(ct.smp.resolve(ct.t, s.Body)).(map[string]any)
	var out string
	var err error
	switch s.Mixin {
	case "exec":
		argv := append([]string{fmt.Sprint(body["command"])}, strs(body["arguments"])...)
		flags, _ := body["flags"].(map[string]any)
		argv = append(argv, flagArgs(flags)...)
		env, _ := body["envs"].(map[string]any)
		out, err = ct.run(env, argv...)
	case "helm3":
		if args, ok := body["arguments"]; ok {
			out, err = ct.run(nil, append([]string{"helm3"}, strs(args)...)...)
			break
		}
		ns := fmt.Sprint(body["namespace"])
		if rels, ok := body["releases"]; ok {
			for _, r := range strs(rels) {
				var o string
				o, err = ct.run(nil, "helm3", "uninstall", r, "--namespace", ns)
				out += o
				if err != nil {
					break
				}
			}
			break
		}
		argv := []string{"helm3", "upgrade", "--install", fmt.Sprint(body["name"]), fmt.Sprint(body["chart"]), "--namespace", ns, "--create-namespace"}
		if v, ok := body["version"]; ok {
			argv = append(argv, "--version", fmt.Sprint(v))
		}
		for _, f := range strs(body["values"]) {
			argv = append(argv, "--values", f)
		}
		set, _ := body["set"].(map[string]any)
		var keys []string
		for k := range set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			argv = append(argv, "--set", k+"="+fmt.Sprint(set[k]))
		}
		out, err = ct.run(nil, argv...)
		if err == nil && len(s.outputs()) > 0 {
			_, err = ct.run(nil, "kubectl", "get", "service", "--namespace", ns, "-o", "jsonpath")
		}
	case "az":
		var argv []string
		switch {
		case body["login"] != nil:
			argv = []string{"az", "login"}
		case body["group"] != nil:
			g := body["group"].(map[string]any)
			argv = []string{"az", "group", "create", "--location", fmt.Sprint(g["location"]), "--name", fmt.Sprint(g["name"])}
		default:
			flags, _ := body["flags"].(map[string]any)
			argv = append(append([]string{"az"}, strs(body["arguments"])...), flagArgs(flags)...)
			argv = append(argv, "--output", "json")
		}
		out, err = ct.run(nil, argv...)
	case "arcflux":
		// The mixin itself runs against the Azure fakes in arcflux_test.go; here only what it
		// needs from the container: connect reads the kubeconfig file.
		if w, ok := body["when"].(map[string]any); ok && fmt.Sprint(w["value"]) != fmt.Sprint(w["equals"]) {
			break
		}
		if c, ok := body["connect"].(map[string]any); ok {
			kc, _ := c["kubeconfig"].(string)
			if kc == "" {
				kc = filepath.Join(ct.home, ".kube", "config")
			}
			if fi, e := os.Stat(kc); e != nil || fi.Size() == 0 {
				err = fmt.Errorf("arcflux connect: kubeconfig %s: missing", kc)
			}
		}
	default:
		err = fmt.Errorf("no model of the %s mixin", s.Mixin)
	}
	ct.trace = append(ct.trace, fmt.Sprintf("%s: %v\n%s", s, err, out))
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", s, err, out)
	}
	return nil
}

// action runs every step of the action, stopping at the first failure like porter.
func (ct *container) action(action string) error {
	for _, s := range ct.b.steps(action) {
		if err := ct.step(s); err != nil {
			return err
		}
	}
	return nil
}

// sampleCreds are credentials as the example sets give them: Azure from the environment, the
// kubeconfig a file.
func sampleCreds(kubeconfig string) creds {
	c := creds{Values: map[string]string{
		"azure-client-id": "11111111-0000-0000-0000-000000000001", "azure-client-secret": "secret",
		"azure-tenant-id": "11111111-0000-0000-0000-000000000002", "azure-subscription-id": "00000000-0000-0000-0000-000000000001",
		"gitops-token": "",
	}, Files: map[string]string{}}
	if kubeconfig != "" {
		c.Files["kubeconfig"] = kubeconfig
	}
	return c
}
