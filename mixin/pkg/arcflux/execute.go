package arcflux

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes"
	kc "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kubernetesconfiguration/armkubernetesconfiguration/v2"
	"github.com/PaesslerAG/jsonpath"

	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
	"github.com/edgeframe/edgeframe/mixin/pkg/arc"
	"github.com/edgeframe/edgeframe/mixin/pkg/azureauth"
	"github.com/edgeframe/edgeframe/mixin/pkg/flux"
)

// Default timeouts of the commands.
const (
	DefaultConnectTimeout = 15 * time.Minute
	DefaultFluxTimeout    = 10 * time.Minute
)

// ExecuteOptions select the action and where the step comes from.
type ExecuteOptions struct {
	// Action is install, upgrade, uninstall or the custom action name (invoke --action).
	Action string
	// Custom is true for invoke.
	Custom bool
	// File reads the step from a file instead of stdin (-f).
	File string
}

// Execute runs the one step porter sent for the action.
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
		return cleanJSONError(err)
	}
	steps, ok := actions[opts.Action]
	if !ok {
		return fmt.Errorf("step YAML has no %q action (found %s)", opts.Action, strings.Join(slices.Sorted(maps.Keys(actions)), ", "))
	}
	if len(steps) != 1 {
		return fmt.Errorf("%s: porter sends exactly one step per call, got %d", opts.Action, len(steps))
	}
	step := steps[0]
	if ps := errorsOnly(validateStep(step, opts.Action, opts.Custom, true, m.getenv)); len(ps) > 0 {
		return &StepError{Action: opts.Action, Number: 1, Description: step.Description, Problems: ps}
	}
	if !step.When.Holds() {
		// Condition false: no Azure call, no cluster access. Declared outputs are written
		// empty so that bundle outputs applying to the action still exist.
		fmt.Fprintf(m.Out, "skipped: %s step %q (when: value %q is not %q)\n", opts.Action, step.Description, *step.When.Value, *step.When.Equals)
		return m.writeSkippedOutputs(step.Outputs)
	}
	m.debugf("%s step %q: %s", opts.Action, step.Description, step.Command())

	resource, err := m.run(ctx, opts.Action, step)
	if err != nil {
		if ignored(step.IgnoreError, err) {
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

// run performs the command and returns the resource JSON.
func (m *Mixin) run(ctx context.Context, action string, s Step) ([]byte, error) {
	var log io.Writer = m.Out
	if s.SuppressOutput {
		log = io.Discard
	}
	switch s.Command() {
	case "connect":
		return m.runConnect(ctx, action, *s.Connect, log)
	case "flux":
		return m.runFlux(ctx, action, *s.Flux, log)
	case "status":
		return m.runStatus(ctx, *s.Status, log)
	}
	return nil, errors.New("a step needs exactly one of connect, flux or status")
}

func (m *Mixin) target(t Target) (azureauth.Cloud, string, error) {
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

func (m *Mixin) azure(ctx context.Context, t Target) (AzureClients, azureauth.Cloud, string, error) {
	cloud, sub, err := m.target(t)
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

func (m *Mixin) runConnect(ctx context.Context, action string, c Connect, log io.Writer) ([]byte, error) {
	az, cloud, sub, err := m.azure(ctx, c.Target)
	if err != nil {
		return nil, err
	}
	kf := m.Kube
	if kf == nil {
		kf = ClientGoKube
	}
	var helmDebug func(string, ...any)
	if m.Debug {
		helmDebug = m.debugf
	}
	kube, err := kf(m.kubeconfigPath(c.Kubeconfig), c.KubeContext, helmDebug)
	if err != nil {
		return nil, err
	}
	spec := arc.Spec{
		SubscriptionID: sub, TenantID: m.getenv("AZURE_TENANT_ID"),
		ResourceGroup: c.ResourceGroup, ClusterName: c.ClusterName,
		Location: strings.ToLower(c.Location), Tags: c.Tags,
		Distribution: c.Distribution, Infrastructure: c.Infrastructure,
		ReleaseTrain: c.ReleaseTrain, AutoUpdate: c.AutoUpdate,
		AgentEnvironment: cloud.AgentEnvironment,
		Timeout:          parseDuration(c.Timeout, DefaultConnectTimeout),
	}
	if p := c.Proxy; p != nil {
		spec.Proxy = arc.Proxy{HTTPProxy: p.HTTPProxy, HTTPSProxy: p.HTTPSProxy, NoProxy: p.NoProxy}
		if p.CACertFile != "" {
			b, err := os.ReadFile(p.CACertFile)
			if err != nil {
				return nil, fmt.Errorf("connect.proxy.caCertFile: %w", err)
			}
			spec.Proxy.CACert = b
		}
	}
	if a := c.AgentChart; a != nil {
		spec.Chart = agents.ChartRef{Location: a.Location, PlainHTTP: a.PlainHTTP}
	}
	ob := &arc.Onboarder{
		Clusters: az.Clusters, Groups: az.Groups, Charts: az.Charts,
		Agents: kube.Agents, Kube: kube.Kube, Poll: m.Poll, Log: log,
	}
	if action == "uninstall" {
		return nil, ob.Disconnect(ctx, spec)
	}
	cc, err := ob.Connect(ctx, spec)
	if err != nil {
		return nil, err
	}
	return json.Marshal(cc)
}

func (m *Mixin) runFlux(ctx context.Context, action string, f Flux, log io.Writer) ([]byte, error) {
	az, _, _, err := m.azure(ctx, f.Target)
	if err != nil {
		return nil, err
	}
	cfg := &flux.Configurator{Extensions: az.Extensions, Configurations: az.Configurations, Poll: m.Poll, Log: log}
	spec := FluxSpec(f)
	if action == "uninstall" {
		return nil, cfg.Delete(ctx, spec)
	}
	fc, err := cfg.Apply(ctx, spec)
	if err != nil {
		return nil, err
	}
	return json.Marshal(redact(fc))
}

// StatusReport is the status command's JSON output.
type StatusReport struct {
	Cluster            ClusterStatus `json:"cluster"`
	FluxConfigurations []flux.Status `json:"fluxConfigurations"`
}

// ClusterStatus is the Arc side of the status report.
type ClusterStatus struct {
	ID                   string `json:"id"`
	ConnectivityStatus   string `json:"connectivityStatus"`
	AgentVersion         string `json:"agentVersion,omitempty"`
	KubernetesVersion    string `json:"kubernetesVersion,omitempty"`
	Distribution         string `json:"distribution,omitempty"`
	ProvisioningState    string `json:"provisioningState,omitempty"`
	LastConnectivityTime string `json:"lastConnectivityTime,omitempty"`
}

func (m *Mixin) runStatus(ctx context.Context, s Status, log io.Writer) ([]byte, error) {
	az, _, sub, err := m.azure(ctx, s.Target)
	if err != nil {
		return nil, err
	}
	rep := StatusReport{FluxConfigurations: []flux.Status{}}
	rep.Cluster.ID = arc.Spec{SubscriptionID: sub, ResourceGroup: s.ResourceGroup, ClusterName: s.ClusterName}.ResourceID()
	got, err := az.Clusters.Get(ctx, s.ResourceGroup, s.ClusterName, nil)
	switch {
	case arc.IsNotFound(err):
		rep.Cluster.ConnectivityStatus = "NotFound"
	case err != nil:
		return nil, fmt.Errorf("get connected cluster %s: %w", rep.Cluster.ID, err)
	default:
		fillClusterStatus(&rep.Cluster, got.ConnectedCluster)
	}
	if rep.Cluster.ConnectivityStatus != "NotFound" {
		cfg := &flux.Configurator{Extensions: az.Extensions, Configurations: az.Configurations}
		sts, err := cfg.Statuses(ctx, flux.Cluster{ResourceGroup: s.ResourceGroup, Name: s.ClusterName, Type: s.ClusterType}, s.FluxConfigurations)
		if err != nil {
			return nil, err
		}
		if sts != nil {
			rep.FluxConfigurations = sts
		}
	}
	fmt.Fprintf(log, "cluster %s: %s", s.ClusterName, rep.Cluster.ConnectivityStatus)
	if rep.Cluster.AgentVersion != "" {
		fmt.Fprintf(log, " (agent %s)", rep.Cluster.AgentVersion)
	}
	fmt.Fprintln(log)
	for _, fs := range rep.FluxConfigurations {
		fmt.Fprintf(log, "flux configuration %s: %s\n", fs.Name, fs.ComplianceState)
		for _, k := range fs.Kustomizations {
			fmt.Fprintf(log, "  kustomization %s: %s\n", k.Name, k.ComplianceState)
		}
	}
	return json.MarshalIndent(rep, "", "  ")
}

func fillClusterStatus(cs *ClusterStatus, cc armhybridkubernetes.ConnectedCluster) {
	if cc.ID != nil {
		cs.ID = *cc.ID
	}
	cs.ConnectivityStatus = "Unknown"
	p := cc.Properties
	if p == nil {
		return
	}
	if p.ConnectivityStatus != nil {
		cs.ConnectivityStatus = string(*p.ConnectivityStatus)
	}
	cs.AgentVersion, cs.KubernetesVersion, cs.Distribution = deref(p.AgentVersion), deref(p.KubernetesVersion), deref(p.Distribution)
	if p.ProvisioningState != nil {
		cs.ProvisioningState = string(*p.ProvisioningState)
	}
	if p.LastConnectivityTime != nil {
		cs.LastConnectivityTime = p.LastConnectivityTime.UTC().Format(time.RFC3339)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// FluxSpec translates a flux step into the ARM request.
func FluxSpec(f Flux) flux.Spec {
	props := &kc.FluxConfigurationProperties{
		Scope:     to.Ptr(kc.ScopeTypeCluster),
		Namespace: to.Ptr(defaultStr(f.Namespace, "flux-system")),
		Suspend:   to.Ptr(f.Suspend),
	}
	if f.Scope == "namespace" {
		props.Scope = to.Ptr(kc.ScopeTypeNamespace)
	}
	protected := map[string]*string{}
	b64 := func(s string) *string { return to.Ptr(base64.StdEncoding.EncodeToString([]byte(s))) }
	switch {
	case f.GitRepository != nil:
		g := f.GitRepository
		props.SourceKind = to.Ptr(kc.SourceKindTypeGitRepository)
		def := &kc.GitRepositoryDefinition{
			URL:                   to.Ptr(g.URL),
			RepositoryRef:         &kc.RepositoryRefDefinition{Branch: optStr(g.Branch), Tag: optStr(g.Tag), Semver: optStr(g.Semver), Commit: optStr(g.Commit)},
			SyncIntervalInSeconds: seconds(g.SyncInterval),
			TimeoutInSeconds:      seconds(g.Timeout),
			HTTPSUser:             optStr(g.HTTPSUser),
			LocalAuthRef:          optStr(g.LocalAuthRef),
		}
		if g.SSHKnownHosts != "" {
			def.SSHKnownHosts = b64(g.SSHKnownHosts)
		}
		if g.HTTPSCACert != "" {
			def.HTTPSCACert = b64(g.HTTPSCACert)
		}
		if g.HTTPSKey != "" {
			protected["httpsKey"] = b64(g.HTTPSKey)
		}
		if g.SSHPrivateKey != "" {
			protected["sshPrivateKey"] = b64(g.SSHPrivateKey)
		}
		props.GitRepository = def
	case f.Bucket != nil:
		b := f.Bucket
		props.SourceKind = to.Ptr(kc.SourceKindTypeBucket)
		props.Bucket = &kc.BucketDefinition{
			URL: to.Ptr(b.URL), BucketName: to.Ptr(b.BucketName), Insecure: to.Ptr(b.Insecure),
			AccessKey: optStr(b.AccessKey), LocalAuthRef: optStr(b.LocalAuthRef),
			SyncIntervalInSeconds: seconds(b.SyncInterval), TimeoutInSeconds: seconds(b.Timeout),
		}
		if b.SecretKey != "" {
			protected["bucketSecretKey"] = b64(b.SecretKey)
		}
	case f.AzureBlob != nil:
		a := f.AzureBlob
		props.SourceKind = to.Ptr(kc.SourceKindTypeAzureBlob)
		def := &kc.AzureBlobDefinition{
			URL: to.Ptr(a.URL), ContainerName: to.Ptr(a.ContainerName),
			AccountKey: optStr(a.AccountKey), SasToken: optStr(a.SASToken), LocalAuthRef: optStr(a.LocalAuthRef),
			SyncIntervalInSeconds: seconds(a.SyncInterval), TimeoutInSeconds: seconds(a.Timeout),
		}
		if a.ManagedIdentityClientID != "" {
			def.ManagedIdentity = &kc.ManagedIdentityDefinition{ClientID: to.Ptr(a.ManagedIdentityClientID)}
		}
		props.AzureBlob = def
	}
	if len(protected) > 0 {
		props.ConfigurationProtectedSettings = protected
	}
	ks := f.Kustomizations
	if len(ks) == 0 {
		ks = []Kustomization{{Name: "kustomization-1", Path: "./"}}
	}
	props.Kustomizations = map[string]*kc.KustomizationDefinition{}
	for _, k := range ks {
		def := &kc.KustomizationDefinition{
			Path: to.Ptr(defaultStr(k.Path, "./")), Prune: to.Ptr(k.Prune), Force: to.Ptr(k.Force), Wait: k.Wait,
			SyncIntervalInSeconds: seconds(k.SyncInterval), RetryIntervalInSeconds: seconds(k.RetryInterval),
			TimeoutInSeconds: seconds(k.Timeout),
		}
		for _, d := range k.DependsOn {
			def.DependsOn = append(def.DependsOn, to.Ptr(d))
		}
		if pb := k.PostBuild; pb != nil {
			def.PostBuild = &kc.PostBuildDefinition{}
			if len(pb.Substitute) > 0 {
				def.PostBuild.Substitute = map[string]*string{}
				for key, v := range pb.Substitute {
					def.PostBuild.Substitute[key] = to.Ptr(v)
				}
			}
			for _, sf := range pb.SubstituteFrom {
				def.PostBuild.SubstituteFrom = append(def.PostBuild.SubstituteFrom, &kc.SubstituteFromDefinition{Kind: to.Ptr(sf.Kind), Name: to.Ptr(sf.Name), Optional: to.Ptr(sf.Optional)})
			}
		}
		props.Kustomizations[k.Name] = def
	}
	if f.WaitForCompliance {
		props.WaitForReconciliation = to.Ptr(true)
		props.ReconciliationWaitDuration = to.Ptr(isoDuration(parseDuration(f.Timeout, DefaultFluxTimeout)))
	}
	spec := flux.Spec{
		Cluster:           flux.Cluster{ResourceGroup: f.ResourceGroup, Name: f.ClusterName, Type: f.ClusterType},
		Name:              f.Name,
		Configuration:     kc.FluxConfiguration{Properties: props},
		ForceDelete:       f.ForceDelete,
		WaitForCompliance: f.WaitForCompliance,
		Timeout:           parseDuration(f.Timeout, DefaultFluxTimeout),
	}
	if e := f.Extension; e != nil {
		spec.Extension = flux.ExtensionSpec{Name: e.Name, Version: e.Version, ReleaseTrain: e.ReleaseTrain, Delete: e.Delete}
	}
	return spec
}

// redact drops write-only secrets before a configuration is printed or used for outputs.
func redact(fc kc.FluxConfiguration) kc.FluxConfiguration {
	if fc.Properties == nil {
		return fc
	}
	p := *fc.Properties
	p.ConfigurationProtectedSettings = nil
	if p.AzureBlob != nil {
		ab := *p.AzureBlob
		ab.AccountKey, ab.SasToken = nil, nil
		p.AzureBlob = &ab
	}
	fc.Properties = &p
	return fc
}

func isoDuration(d time.Duration) string {
	s := int64(d / time.Second)
	h, mnt, sec := s/3600, (s%3600)/60, s%60
	out := "PT"
	if h > 0 {
		out += fmt.Sprintf("%dH", h)
	}
	if mnt > 0 {
		out += fmt.Sprintf("%dM", mnt)
	}
	if sec > 0 || out == "PT" {
		out += fmt.Sprintf("%dS", sec)
	}
	return out
}

func seconds(v string) *int64 {
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil
	}
	return to.Ptr(int64(d / time.Second))
}

func parseDuration(v string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	return def
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return to.Ptr(s)
}

func defaultStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeOutputs evaluates each output's JSONPath over the resource JSON and
// writes the result to <OutputsDir>/<name> (strings raw, anything else as JSON).
func (m *Mixin) writeOutputs(outs []Output, resource []byte) error {
	if len(outs) == 0 {
		return nil
	}
	var doc any
	if len(resource) > 0 {
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

// writeSkippedOutputs writes every output of a skipped step as an empty file.
func (m *Mixin) writeSkippedOutputs(outs []Output) error {
	if len(outs) == 0 {
		return nil
	}
	return m.writeOutputFiles(outs, func(Output) ([]byte, error) { return nil, nil })
}

// writeOutputFiles writes value(o) to <OutputsDir>/<o.Name> for every output, reporting
// every failure, each naming its output.
func (m *Mixin) writeOutputFiles(outs []Output, value func(Output) ([]byte, error)) error {
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

// ignored applies the step's ignoreError rules to a failure.
func ignored(ie *IgnoreError, err error) bool {
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
