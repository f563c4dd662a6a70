package localcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/internal/toolcache"
	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
)

// Manifest is the part of a Porter manifest (porter.yaml) the executor runs.
type Manifest struct {
	Name        string                   `json:"name"`
	Credentials []ManifestCredential     `json:"credentials"`
	Parameters  []ManifestParameter      `json:"parameters"`
	Images      map[string]ManifestImage `json:"images"`
	Mixins      []any                    `json:"mixins"`
	Install     []map[string]Step        `json:"install"`
	Uninstall   []map[string]Step        `json:"uninstall"`
}

// ManifestCredential is a credential Porter injects as a file.
type ManifestCredential struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// ManifestParameter is a bundle parameter with its default.
type ManifestParameter struct {
	Name    string `json:"name"`
	Default any    `json:"default"`
}

// ManifestImage is a referenced image.
type ManifestImage struct {
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
}

// Step is one helm3 or exec step (the union of the fields both use).
type Step struct {
	Description string            `json:"description"`
	Name        string            `json:"name"`
	Chart       string            `json:"chart"`
	Version     string            `json:"version"`
	Namespace   string            `json:"namespace"`
	Values      []string          `json:"values"`
	Set         map[string]any    `json:"set"`
	Wait        bool              `json:"wait"`
	Releases    []string          `json:"releases"`
	Command     string            `json:"command"`
	Arguments   []string          `json:"arguments"`
	Envs        map[string]string `json:"envs"`
}

// LoadManifest reads porter.yaml.
func LoadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(m.Install) == 0 {
		return nil, fmt.Errorf("%s: install: no steps", path)
	}
	return &m, nil
}

// Parameter returns a parameter's default as a string.
func (m *Manifest) Parameter(name string) (string, bool) {
	for _, p := range m.Parameters {
		if p.Name == name {
			return fmt.Sprint(p.Default), true
		}
	}
	return "", false
}

// Executor runs a manifest's steps against the node with the Helm SDK, as Porter's helm3 and
// exec mixins would inside the invocation image: same chart paths, values files and set values,
// credentials injected at the paths the manifest declares. The only overrides are image
// references (ImageSets, and the bundle.images templates resolved to local images).
type Executor struct {
	Config   Config
	Manifest *Manifest
	// Images resolves ${ bundle.images.<key>.repository|digest }.
	Images map[string]Image
	// Charts maps a repository chart (e.g. "dapr/dapr") to a local chart directory: there is no
	// chart repository here.
	Charts map[string]string
	// ImageSets are extra set values per chart path (image references only).
	ImageSets map[string]map[string]string
	// Timeout of a step with wait: true (default 10 min).
	Timeout time.Duration
}

// StepResult is what running a step did.
type StepResult struct {
	Action, Mixin, Description, Release, Namespace string
	Seconds                                        float64
	// NotRun says why a step was not run (an exec step that needs the cloud); empty when it ran.
	NotRun string
}

var tmpl = regexp.MustCompile(`\$\{\s*([^}]*?)\s*\}`)

// resolve replaces ${ bundle.parameters.X } by X's default and ${ bundle.images.K.repository |
// digest } by the local image's.
func (e *Executor) resolve(where, s string) (string, error) {
	var errs []error
	out := tmpl.ReplaceAllStringFunc(s, func(m string) string {
		expr := tmpl.FindStringSubmatch(m)[1]
		parts := strings.Split(expr, ".")
		switch {
		case len(parts) == 3 && parts[0] == "bundle" && parts[1] == "parameters":
			if v, ok := e.Manifest.Parameter(parts[2]); ok {
				return v
			}
		case len(parts) == 4 && parts[0] == "bundle" && parts[1] == "images":
			img, ok := e.Images[parts[2]]
			if ok && parts[3] == "repository" {
				return img.Repository
			}
			if ok && parts[3] == "digest" {
				return img.Digest
			}
		}
		errs = append(errs, fmt.Errorf("%s: template %q: not resolvable here", where, m))
		return m
	})
	return out, errors.Join(errs...)
}

// Run runs the steps of action ("install" or "uninstall") in order and stops at the first
// failure. Exec steps that need the cloud (az) are reported as not run.
func (e *Executor) Run(ctx context.Context, action string) ([]StepResult, error) {
	var steps []map[string]Step
	switch action {
	case "install":
		steps = e.Manifest.Install
	case "uninstall":
		steps = e.Manifest.Uninstall
	default:
		return nil, fmt.Errorf("action %q: want install or uninstall", action)
	}
	h := agents.FromKubeconfig(e.Config.Kubeconfig(), "", nil)
	var out []StepResult
	for i, entry := range steps {
		for mixin, st := range entry {
			where := fmt.Sprintf("%s[%d] (%s %q)", action, i, mixin, st.Description)
			start := time.Now()
			r := StepResult{Action: action, Mixin: mixin, Description: st.Description, Namespace: st.Namespace}
			var err error
			switch {
			case mixin == "helm3" && action == "install":
				r.Release = st.Name
				err = e.helmInstall(ctx, h, where, st)
			case mixin == "helm3":
				r.Release = strings.Join(st.Releases, ",")
				for _, rel := range st.Releases {
					if _, uerr := h.Uninstall(ctx, st.Namespace, rel, 5*time.Minute); uerr != nil {
						err = errors.Join(err, uerr)
					}
				}
			case mixin == "exec":
				r.NotRun, err = e.exec(ctx, where, st)
			default:
				err = fmt.Errorf("%s: mixin %q is not supported by the local executor", where, mixin)
			}
			r.Seconds = time.Since(start).Seconds()
			out = append(out, r)
			if err != nil {
				return out, err
			}
			e.Config.Log.Info("step done", "action", action, "step", i, "mixin", mixin, "description", st.Description,
				"release", r.Release, "namespace", st.Namespace, "seconds", int(r.Seconds), "notRun", r.NotRun)
		}
	}
	return out, nil
}

func (e *Executor) helmInstall(ctx context.Context, h *agents.Helm, where string, st Step) error {
	chartPath, err := e.chart(where, st)
	if err != nil {
		return err
	}
	opts := values.Options{}
	for _, v := range st.Values {
		opts.ValueFiles = append(opts.ValueFiles, filepath.Join(e.Config.Repo, v))
	}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return fmt.Errorf("%s: values: %w", where, err)
	}
	for _, k := range slices.Sorted(maps.Keys(st.Set)) {
		v, err := e.resolve(where+" set "+k, fmt.Sprint(st.Set[k]))
		if err != nil {
			return err
		}
		if err := strvals.ParseInto(k+"="+v, vals); err != nil {
			return fmt.Errorf("%s: set %s: %w", where, k, err)
		}
	}
	for k, v := range e.ImageSets[st.Chart] {
		if err := strvals.ParseInto(k+"="+v, vals); err != nil {
			return fmt.Errorf("%s: image override %s: %w", where, k, err)
		}
	}
	timeout := e.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	_, err = h.Apply(ctx, agents.Request{
		Namespace: st.Namespace, Name: st.Name, Chart: agents.ChartRef{Location: chartPath},
		Values: vals, Wait: st.Wait, Timeout: timeout,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// chart returns the chart to install: a path of the repository, or for a repository chart
// the local directory from Charts, packaged with the step's version (the published chart's
// version is stamped at release; the source tree carries 0.0.0).
func (e *Executor) chart(where string, st Step) (string, error) {
	out, err := os.MkdirTemp(e.Config.StateDir, "chart-")
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(st.Chart, "./") {
		// The repository's charts have file:// dependencies (edge-lib), attached as Porter's
		// staged bundle has them.
		ch, err := chartrender.LoadChart(filepath.Join(e.Config.Repo, st.Chart))
		if err != nil {
			return "", fmt.Errorf("%s: chart %s: %w", where, st.Chart, err)
		}
		return chartutil.Save(ch, out)
	}
	dir, ok := e.Charts[st.Chart]
	if !ok {
		return "", fmt.Errorf("%s: chart %q: no chart repository here and no local copy configured", where, st.Chart)
	}
	version, err := e.resolve(where+" version", st.Version)
	if err != nil {
		return "", err
	}
	ch, err := loader.Load(dir)
	if err != nil {
		return "", fmt.Errorf("%s: chart %s: %w", where, dir, err)
	}
	if version != "" {
		ch.Metadata.Version, ch.Metadata.AppVersion = version, version
	}
	return chartutil.Save(ch, out)
}

// exec runs an exec step with bash from the repository root, the credential paths the
// manifest declares replaced by the node's files (as Porter injects them) and the tools on
// PATH. A step that calls the Azure CLI is not run here: it returns why.
func (e *Executor) exec(ctx context.Context, where string, st Step) (notRun string, err error) {
	env := os.Environ()
	env = append(env, "PATH="+filepath.Join(toolcache.Dir(), "bin")+":"+os.Getenv("PATH"))
	needsAzure := false
	for k, v := range st.Envs {
		v, err := e.resolve(where+" env "+k, v)
		if err != nil {
			return "", err
		}
		for _, c := range e.Manifest.Credentials {
			if c.Name == "kubeconfig" && v == c.Path {
				v = e.Config.Kubeconfig()
			}
		}
		if (k == "CREATE_CLUSTER" && v == "true") || k == "DEPLOYMENT" && v != "" {
			needsAzure = true
		}
		env = append(env, k+"="+v)
	}
	if needsAzure {
		return "calls the Azure CLI (az): no Azure here", nil
	}
	args := make([]string, 0, len(st.Arguments))
	for _, a := range st.Arguments {
		a, err := e.resolve(where+" argument", a)
		if err != nil {
			return "", err
		}
		args = append(args, a)
	}
	cmd := exec.CommandContext(ctx, st.Command, args...)
	cmd.Dir, cmd.Env = e.Config.Repo, env
	b, err := cmd.CombinedOutput()
	e.Config.Log.Info("exec step", "step", where, "output", strings.TrimSpace(string(b)))
	if err != nil {
		return "", fmt.Errorf("%s: %s %s: %w: %s", where, st.Command, strings.Join(args, " "), err, b)
	}
	return "", nil
}
