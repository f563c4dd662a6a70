// Package agents installs, inspects and removes a Helm release in-process with
// the Helm SDK (no helm binary): the Azure Arc agents chart in production, a
// stand-in chart in tests. Charts come from an OCI registry (oci://host/repo:version,
// e.g. a mirror for air-gapped sites), a local chart directory or a .tgz archive.
package agents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// ChartRef says where a chart comes from.
type ChartRef struct {
	// Location is oci://host/repository:version, host/repository:version (taken
	// as OCI, the form the Arc data plane returns), a chart directory or a .tgz file.
	Location string
	// PlainHTTP talks HTTP instead of HTTPS to the OCI registry (local mirrors).
	PlainHTTP bool
}

// IsOCI reports whether the location names an OCI artifact rather than a local path.
func (r ChartRef) IsOCI() bool {
	if strings.HasPrefix(r.Location, "oci://") {
		return true
	}
	if strings.HasPrefix(r.Location, "/") || strings.HasPrefix(r.Location, ".") {
		return false
	}
	if _, err := os.Stat(r.Location); err == nil {
		return false
	}
	// host/path:tag
	host, _, ok := strings.Cut(r.Location, "/")
	return ok && (strings.Contains(host, ".") || strings.Contains(host, ":"))
}

// Release is what Get reports about an installed release.
type Release struct {
	Name         string
	Namespace    string
	Revision     int
	Status       string
	ChartName    string
	ChartVersion string
	// Values are the user-supplied values of the deployed revision.
	Values map[string]any
}

// Request is one install-or-upgrade.
type Request struct {
	Namespace string
	Name      string
	Chart     ChartRef
	Values    map[string]any
	Timeout   time.Duration
	// Wait waits until the release's resources are ready.
	Wait bool
}

// Helm drives Helm releases of one cluster.
type Helm struct {
	getter genericclioptions.RESTClientGetter
	log    func(format string, v ...any)
	// HTTPClient is used for OCI pulls (nil: http.DefaultClient).
	HTTPClient *http.Client
}

// New returns a Helm for the cluster the getter points at. log receives Helm's debug lines (may be nil).
func New(getter genericclioptions.RESTClientGetter, log func(format string, v ...any)) *Helm {
	if log == nil {
		log = func(string, ...any) {}
	}
	return &Helm{getter: getter, log: log}
}

// FromKubeconfig returns a Helm for the kubeconfig file (and optional context).
func FromKubeconfig(path, kubeContext string, log func(format string, v ...any)) *Helm {
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &path
	if kubeContext != "" {
		flags.Context = &kubeContext
	}
	return New(flags, log)
}

func (h *Helm) config(namespace string) (*action.Configuration, error) {
	cfg := new(action.Configuration)
	if err := cfg.Init(h.getter, namespace, "secret", h.log); err != nil {
		return nil, fmt.Errorf("helm init for namespace %s: %w", namespace, err)
	}
	// Init puts only the release records in namespace; the objects follow the kube client's
	// namespace, which would otherwise be the kubeconfig's (helm's --namespace sets both).
	if kc, ok := cfg.KubeClient.(*kube.Client); ok {
		kc.Namespace = namespace
	}
	return cfg, nil
}

// Get returns the deployed release, or nil when there is none.
func (h *Helm) Get(ctx context.Context, namespace, name string) (*Release, error) {
	cfg, err := h.config(namespace)
	if err != nil {
		return nil, err
	}
	rel, err := action.NewGet(cfg).Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("helm get %s/%s: %w", namespace, name, err)
	}
	return toRelease(rel), nil
}

func toRelease(rel *release.Release) *Release {
	r := &Release{Name: rel.Name, Namespace: rel.Namespace, Revision: rel.Version, Values: rel.Config}
	if rel.Info != nil {
		r.Status = rel.Info.Status.String()
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		r.ChartName, r.ChartVersion = rel.Chart.Metadata.Name, rel.Chart.Metadata.Version
	}
	return r
}

// LoadChart fetches and loads the chart.
func (h *Helm) LoadChart(ctx context.Context, ref ChartRef) (*chart.Chart, error) {
	if !ref.IsOCI() {
		ch, err := loader.Load(ref.Location)
		if err != nil {
			return nil, fmt.Errorf("load chart %s: %w", ref.Location, err)
		}
		return ch, nil
	}
	opts := []registry.ClientOption{registry.ClientOptEnableCache(false), registry.ClientOptWriter(ioDiscard{})}
	if ref.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	if h.HTTPClient != nil {
		opts = append(opts, registry.ClientOptHTTPClient(h.HTTPClient))
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	loc := strings.TrimPrefix(ref.Location, "oci://")
	if !strings.Contains(loc[strings.LastIndex(loc, "/")+1:], ":") && !strings.Contains(loc, "@") {
		return nil, fmt.Errorf("chart %s: no version tag (want host/repository:version)", ref.Location)
	}
	res, err := client.Pull(loc, registry.PullOptWithChart(true))
	if err != nil {
		return nil, fmt.Errorf("pull chart %s: %w", ref.Location, err)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(res.Chart.Data))
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", ref.Location, err)
	}
	return ch, nil
}

// Apply installs the release, or upgrades it when the chart version or the
// values differ from the deployed revision. It reports whether anything changed.
func (h *Helm) Apply(ctx context.Context, req Request) (changed bool, err error) {
	ch, err := h.LoadChart(ctx, req.Chart)
	if err != nil {
		return false, err
	}
	cur, err := h.Get(ctx, req.Namespace, req.Name)
	if err != nil {
		return false, err
	}
	cfg, err := h.config(req.Namespace)
	if err != nil {
		return false, err
	}
	vals := normalise(req.Values)
	if cur == nil {
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace, in.CreateNamespace = req.Name, req.Namespace, true
		in.Wait, in.Timeout = req.Wait, req.Timeout
		if _, err := in.RunWithContext(ctx, ch, vals); err != nil {
			return false, fmt.Errorf("helm install %s/%s: %w", req.Namespace, req.Name, err)
		}
		return true, nil
	}
	if cur.Status == release.StatusDeployed.String() && cur.ChartName == ch.Metadata.Name &&
		cur.ChartVersion == ch.Metadata.Version && reflect.DeepEqual(normalise(cur.Values), vals) {
		return false, nil
	}
	up := action.NewUpgrade(cfg)
	up.Namespace, up.Wait, up.Timeout = req.Namespace, req.Wait, req.Timeout
	if _, err := up.RunWithContext(ctx, req.Name, ch, vals); err != nil {
		return false, fmt.Errorf("helm upgrade %s/%s: %w", req.Namespace, req.Name, err)
	}
	return true, nil
}

// Uninstall removes the release; a missing release is not an error (removed reports which).
func (h *Helm) Uninstall(ctx context.Context, namespace, name string, timeout time.Duration) (removed bool, err error) {
	cfg, err := h.config(namespace)
	if err != nil {
		return false, err
	}
	un := action.NewUninstall(cfg)
	// Helm's wait would block on namespaces the chart owns until their
	// finalizers run; callers wait for what they need themselves.
	un.Wait, un.Timeout = false, timeout
	if _, err := un.Run(name); err != nil {
		if errors.Is(err, driver.ErrReleaseNotFound) || strings.Contains(err.Error(), "not found") {
			return false, nil
		}
		return false, fmt.Errorf("helm uninstall %s/%s: %w", namespace, name, err)
	}
	return true, nil
}

// normalise round-trips values through JSON so that values read back from a
// release compare equal to freshly built ones (numbers, nested map types).
func normalise(v map[string]any) map[string]any {
	if v == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

type ioDiscard struct{}

func (ioDiscard) Write(p []byte) (int, error) { return len(p), nil }
