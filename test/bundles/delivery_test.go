package bundles_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/kubeenv"
)

// workloadsScript is the offline delivery script (bundles/scripts, staged into the bundle).
const workloadsScript = "./scripts/helm-workloads.sh"

var deliveries = []string{"gitops", "offline"}

// isWorkloadsScript reports whether an exec step runs the offline delivery script.
func isWorkloadsScript(s step) bool {
	args, _ := s.Body["arguments"].([]any)
	return s.Mixin == "exec" && len(args) > 0 && args[0] == workloadsScript
}

// active reports whether a step (templates resolved with smp) does something for the
// delivery in smp: an arcflux step whose when does not hold prints "skipped", and so does the
// script unless DELIVERY is offline.
func active(t *testing.T, s step, smp *samples) bool {
	body, _ := smp.resolve(t, s.Body).(map[string]any)
	if w, ok := body["when"].(map[string]any); ok && s.Mixin == "arcflux" {
		return fmt.Sprint(w["value"]) == fmt.Sprint(w["equals"])
	}
	if isWorkloadsScript(s) {
		env, _ := body["envs"].(map[string]any)
		return env["DELIVERY"] == "offline"
	}
	return true
}

// deliversWorkloads reports whether a step delivers (or removes) the workloads.
func deliversWorkloads(s step) bool {
	if isWorkloadsScript(s) {
		return true
	}
	flux, _ := s.Body["flux"].(map[string]any)
	return s.Mixin == "arcflux" && flux != nil && flux["name"] == "edge-apps"
}

// The application bundle's delivery parameter chooses exactly one way to deliver the
// workloads in install, upgrade and uninstall: the Flux configuration with gitops, the helm
// script with offline. The Dapr resources come first on install and go last on uninstall,
// before the namespace.
func TestDeliveryParameterChoosesOneWay(t *testing.T) {
	app := byName(t)["application"]
	p, ok := app.named("parameters")["delivery"]
	if !ok {
		t.Fatal("application has no delivery parameter")
	}
	if fmt.Sprint(p["enum"]) != "[gitops offline]" || p["default"] != "gitops" || p["type"] != "string" {
		t.Errorf("delivery: enum %v default %v type %v, want [gitops offline], gitops, string", p["enum"], p["default"], p["type"])
	}
	for _, level := range app.levels() {
		for _, d := range deliveries {
			smp := newSamples(t, app, level)
			smp.params["delivery"] = d
			for _, action := range []string{"install", "upgrade", "uninstall"} {
				var ways []string
				workloadsAt, daprAt, namespacesAt := -1, -1, -1
				for i, s := range app.steps(action) {
					if !active(t, s, &smp) {
						continue
					}
					if deliversWorkloads(s) {
						ways = append(ways, s.Mixin)
						workloadsAt = i
					}
					if s.Mixin == "helm3" && (s.Body["name"] == "dapr-components" || fmt.Sprint(s.Body["releases"]) == "[dapr-components]") {
						daprAt = i
					}
					if env, _ := s.Body["envs"].(map[string]any); s.Mixin == "exec" && env["NAMESPACES"] != nil {
						namespacesAt = i
					}
				}
				want := map[string]string{"gitops": "arcflux", "offline": "exec"}[d]
				if strings.Join(ways, ",") != want {
					t.Errorf("%s delivery=%s level=%s: workloads delivered by %v, want exactly one %s step", action, d, level, ways, want)
					continue
				}
				if action == "uninstall" {
					if daprAt < workloadsAt || (namespacesAt >= 0 && namespacesAt < daprAt) {
						t.Errorf("uninstall delivery=%s: workloads at %d, Dapr resources at %d, namespaces at %d: want that order", d, workloadsAt, daprAt, namespacesAt)
					}
				} else if daprAt > workloadsAt {
					t.Errorf("%s delivery=%s: the workloads come before the Dapr resources they use", action, d)
				}
			}
		}
	}
	// The helm CLI the script runs is in the invocation image because the helm3 mixin is declared.
	for _, b := range loadBundles(t) {
		uses := false
		for _, s := range b.allSteps() {
			uses = uses || isWorkloadsScript(s)
		}
		declared := false
		for _, m := range b.M["mixins"].([]any) {
			if mm, ok := m.(map[string]any); ok {
				_, declared = mm["helm3"]
			}
			declared = declared || m == "helm3"
			if declared {
				break
			}
		}
		if uses && !declared {
			t.Errorf("%s runs %s but does not declare the helm3 mixin (the helm CLI)", b.Name, workloadsScript)
		}
	}
}

// scriptEnv is the environment the bundle's exec step gives the script for action, with
// the parameters, images and outputs of smp.
func scriptEnv(t *testing.T, b bundle, action string, smp *samples) []string {
	t.Helper()
	for _, s := range b.steps(action) {
		if !isWorkloadsScript(s) {
			continue
		}
		body, _ := smp.resolve(t, s.Body).(map[string]any)
		env, _ := body["envs"].(map[string]any)
		var out []string
		for k, v := range env {
			out = append(out, k+"="+fmt.Sprint(v))
		}
		return out
	}
	t.Fatalf("%s: no %s step runs %s", b.Name, action, workloadsScript)
	return nil
}

// runScript runs bundles/scripts/helm-workloads.sh from the repository root (where ./charts
// is what `make bundles` stages next to the manifest).
func runScript(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join("bundles", "scripts", "helm-workloads.sh")}, args...)...)
	cmd.Dir = root(t)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...) // a later PATH in env wins
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// Bad input to the script is an error naming the variable, before helm runs; gitops skips.
func TestWorkloadsScriptArguments(t *testing.T) {
	if out, err := exec.Command("bash", "-n", filepath.Join(root(t), "bundles", "scripts", "helm-workloads.sh")).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	app := byName(t)["application"]
	smp := newSamples(t, app, "l4")
	smp.params["delivery"] = "offline"
	good := scriptEnv(t, app, "install", &smp)
	with := func(kv ...string) []string { return append(append([]string{"HELM=/nonexistent/helm"}, good...), kv...) }
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string // in stderr (exit 2) or, with code 0, in stdout
		code int
	}{
		{"gitops skips", with("DELIVERY=gitops"), []string{"install"}, "skipped: install of the workloads with helm (DELIVERY=gitops", 0},
		{"gitops skips uninstall", with("DELIVERY=gitops"), []string{"uninstall"}, "skipped: uninstall", 0},
		{"no action", with(), nil, `action "" is not install, upgrade or uninstall`, 2},
		{"bad action", with(), []string{"deploy"}, `action "deploy" is not install, upgrade or uninstall`, 2},
		{"two arguments", with(), []string{"install", "extra"}, "one argument (the action) expected, got 2", 2},
		{"bad delivery", with("DELIVERY=flux"), []string{"install"}, `DELIVERY "flux" is not gitops or offline`, 2},
		{"no delivery", with("DELIVERY="), []string{"install"}, `DELIVERY "" is not gitops or offline`, 2},
		{"level l3", with("LEVEL=l3"), []string{"install"}, `LEVEL "l3" is not l2 or l4`, 2},
		{"bad wait", with("WAIT=yes"), []string{"install"}, `WAIT "yes" is not true or false`, 2},
		{"l4 without the gateway image", with("DATAGATEWAY_REPOSITORY="), []string{"install"}, "LEVEL=l4 needs DATAGATEWAY_REPOSITORY", 2},
		{"l2 without images", with("LEVEL=l2", "OPCPLC_DIGEST=", "TEMPSENSOR_REPOSITORY="), []string{"install"}, "LEVEL=l2 needs OPCPLC_DIGEST TEMPSENSOR_REPOSITORY", 2},
		{"bad digest", with("DATAGATEWAY_DIGEST=latest"), []string{"install"}, `DATAGATEWAY_DIGEST "latest" is not a sha256:<64 hex> digest`, 2},
		{"bad charts directory", with("CHARTS=/nonexistent"), []string{"install"}, `CHARTS "/nonexistent" has no profiles/l4/edge-workloads.yaml`, 2},
		{"dry run l4", with("DRY_RUN=true"), []string{"install"},
			"/nonexistent/helm upgrade --install edge-workloads ./charts/edge-workloads --namespace edge-l4 --create-namespace --values ./charts/profiles/l4/edge-workloads.yaml --set-string level=l4 --set-string datagateway.image.repository=" + smp.workloads["datagateway"].Repository, 0},
		{"dry run uninstall", with("DRY_RUN=true"), []string{"uninstall"}, "/nonexistent/helm uninstall edge-workloads --namespace edge-l4 --ignore-not-found", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runScript(t, tc.env, tc.args...)
			where := stderr
			if tc.code == 0 {
				where = stdout
			}
			if code != tc.code || !strings.Contains(where, tc.want) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}

// The offline delivery installs the same chart with the same values as the gitops
// HelmRelease (after Flux's substitutions), with the real helm CLI against a real API server;
// install twice is an upgrade; uninstall twice succeeds (already gone).
func TestOfflineDeliveryWithHelm(t *testing.T) {
	helm := testenv.Tool(t, "helm")
	k := kubeenv.StartAPIServer(t)
	app := byName(t)["application"]
	releases := map[string]string{} // level -> HelmRelease values JSON after substitution
	for _, fk := range fluxKustomizations(t) {
		if !strings.HasPrefix(fk.Where, "application/") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root(t), fk.Path, "helmrelease-edge-workloads.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		text, _ := substitute(string(src), fk.Subst)
		var hr map[string]any
		if err := yaml.Unmarshal([]byte(text), &hr); err != nil {
			t.Fatal(err)
		}
		v, _ := json.Marshal(dig(hr, "spec", "values"))
		releases[fk.Subst["level"]] = string(v)
	}
	// The charts as `make bundles` stages them next to the manifest (dependencies built).
	charts := filepath.Join(t.TempDir(), "charts")
	if err := chartrender.StageCharts(filepath.Join(root(t), "charts"), charts); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(charts, "profiles"), os.DirFS(filepath.Join(root(t), "charts", "profiles"))); err != nil {
		t.Fatal(err)
	}
	for _, level := range app.levels() {
		t.Run(level, func(t *testing.T) {
			smp := newSamples(t, app, level)
			smp.params["delivery"] = "offline"
			// The invocation image's PATH: the real Helm CLI under the helm3 mixin's name, no helm.
			im := newImage(t)
			if err := os.Symlink(helm, filepath.Join(im.Bin, "helm3")); err != nil {
				t.Fatal(err)
			}
			imagePath := "PATH=" + im.Bin
			base := append(scriptEnv(t, app, "install", &smp), "KUBECONFIG="+k.Kubeconfig, imagePath, "WAIT=false", "CHARTS="+charts)
			for i := 1; i <= 2; i++ {
				stdout, stderr, code := runScript(t, base, "install")
				if code != 0 {
					t.Fatalf("install %d: exit %d\n%s\n%s", i, code, stdout, stderr)
				}
			}
			ns := "edge-" + level
			out, err := exec.Command(helm, "get", "values", "edge-workloads", "-n", ns, "-o", "json", "--kubeconfig", k.Kubeconfig).Output()
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(releases[level]), &want); err != nil || want == nil {
				t.Fatalf("no HelmRelease values for %s: %v", level, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("helm values of the offline release differ from the gitops HelmRelease's\n got: %s\nwant: %s", out, releases[level])
			}
			hist, err := exec.Command(helm, "history", "edge-workloads", "-n", ns, "-o", "json", "--kubeconfig", k.Kubeconfig).Output()
			if err != nil || strings.Count(string(hist), `"revision"`) != 2 {
				t.Errorf("history after two installs: %s %v, want revisions 1 and 2", hist, err)
			}
			un := append(scriptEnv(t, app, "uninstall", &smp), "KUBECONFIG="+k.Kubeconfig, imagePath)
			for i := 1; i <= 2; i++ {
				stdout, stderr, code := runScript(t, un, "uninstall")
				if code != 0 {
					t.Fatalf("uninstall %d: exit %d\n%s\n%s", i, code, stdout, stderr)
				}
			}
			if err := exec.Command(helm, "status", "edge-workloads", "-n", ns, "--kubeconfig", k.Kubeconfig).Run(); err == nil {
				t.Error("release still present after uninstall")
			}
			// With gitops the script touches nothing.
			smp.params["delivery"] = "gitops"
			gitops := append(scriptEnv(t, app, "install", &smp), "KUBECONFIG="+k.Kubeconfig, imagePath, "WAIT=false")
			if stdout, stderr, code := runScript(t, gitops, "install"); code != 0 || !strings.HasPrefix(stdout, "skipped: ") {
				t.Fatalf("gitops: exit %d\n%s\n%s", code, stdout, stderr)
			}
			if err := exec.Command(helm, "status", "edge-workloads", "-n", ns, "--kubeconfig", k.Kubeconfig).Run(); err == nil {
				t.Error("delivery=gitops installed the release with helm")
			}
		})
	}
}

// The offline bundle's level script: L3 runs neither Dapr resources nor workloads; bad input
// is an error naming the argument, before Helm runs.
func TestOfflineLevelScriptArguments(t *testing.T) {
	im := newImage(t, "helm3", "kubectl")
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte("# cluster\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, level string
		args        []string
		want        string
		code        int
	}{
		{"l3 skips", "l3", []string{"install"}, "skipped: install of the Dapr resources and workloads (L3 runs none)", 0},
		{"l3 skips uninstall", "l3", []string{"uninstall"}, "skipped: uninstall", 0},
		{"bad level", "l5", []string{"install"}, `offline-level.sh: LEVEL "l5" is not l2, l3 or l4`, 2},
		{"bad action", "l4", []string{"deploy"}, `offline-level.sh: action "deploy" is not install, upgrade or uninstall`, 2},
		{"two arguments", "l4", []string{"install", "now"}, "offline-level.sh: one argument (the action) expected, got 2", 2},
		{"uninstall", "l4", []string{"uninstall"}, "helm uninstall dapr-components -n edge-l4", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(im.Bin, "bash"), append([]string{filepath.Join("bundles", "scripts", "offline-level.sh")}, tc.args...)...)
			cmd.Dir = root(t)
			cmd.Env = []string{"PATH=" + im.Bin, "HOME=" + t.TempDir(), "LEVEL=" + tc.level, "KUBECONFIG=" + kc, "FAKE_LOG=" + im.Log}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != tc.code || !strings.Contains(string(out), tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, out)
			}
			calls := strings.Join(im.calls(t), "\n")
			if tc.code != 0 || tc.level == "l3" {
				if strings.Contains(calls, "helm3 ") {
					t.Errorf("helm3 ran: %s", calls)
				}
			}
		})
	}
	// The uninstall case removed the workloads before the Dapr resources they use.
	calls := im.calls(t)
	if len(calls) < 2 || !strings.HasPrefix(calls[0], "helm3 uninstall edge-workloads --namespace edge-l4 --ignore-not-found") ||
		!strings.HasPrefix(calls[1], "helm3 uninstall dapr-components --namespace edge-l4 --ignore-not-found") {
		t.Errorf("uninstall calls %q: want edge-workloads, then dapr-components", calls)
	}
}
