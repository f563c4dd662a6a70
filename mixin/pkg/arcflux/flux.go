package arcflux

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	kc "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kubernetesconfiguration/armkubernetesconfiguration/v2"

	"github.com/edgeframe/edgeframe/mixin/pkg/flux"
)

// DefaultFluxTimeout bounds a flux command without a timeout.
const DefaultFluxTimeout = 10 * time.Minute

// Flux ensures the microsoft.flux extension and a Flux configuration (schema: definitions.flux).
type Flux struct {
	Target
	// ClusterType is connectedClusters (default) or managedClusters.
	ClusterType       string          `json:"clusterType,omitempty"`
	Name              string          `json:"name"`
	Scope             string          `json:"scope,omitempty"`
	Namespace         string          `json:"namespace,omitempty"`
	Suspend           bool            `json:"suspend,omitempty"`
	Extension         *FluxExtension  `json:"extension,omitempty"`
	GitRepository     *GitRepository  `json:"gitRepository,omitempty"`
	Bucket            *Bucket         `json:"bucket,omitempty"`
	AzureBlob         *AzureBlob      `json:"azureBlob,omitempty"`
	Kustomizations    []Kustomization `json:"kustomizations,omitempty"`
	WaitForCompliance bool            `json:"waitForCompliance,omitempty"`
	ForceDelete       bool            `json:"forceDelete,omitempty"`
	Timeout           string          `json:"timeout,omitempty"`
}

// FluxExtension pins the microsoft.flux extension.
type FluxExtension struct {
	Name         string `json:"name,omitempty"`
	Version      string `json:"version,omitempty"`
	ReleaseTrain string `json:"releaseTrain,omitempty"`
	// Delete removes the extension on uninstall too.
	Delete bool `json:"delete,omitempty"`
}

// GitRepository is a Git source.
type GitRepository struct {
	URL           string `json:"url"`
	Branch        string `json:"branch,omitempty"`
	Tag           string `json:"tag,omitempty"`
	Semver        string `json:"semver,omitempty"`
	Commit        string `json:"commit,omitempty"`
	SyncInterval  string `json:"syncInterval,omitempty"`
	Timeout       string `json:"timeout,omitempty"`
	HTTPSUser     string `json:"httpsUser,omitempty"`
	HTTPSKey      string `json:"httpsKey,omitempty"`
	SSHPrivateKey string `json:"sshPrivateKey,omitempty"`
	SSHKnownHosts string `json:"sshKnownHosts,omitempty"`
	HTTPSCACert   string `json:"httpsCACert,omitempty"`
	LocalAuthRef  string `json:"localAuthRef,omitempty"`
}

// Bucket is an S3-compatible bucket source.
type Bucket struct {
	URL          string `json:"url"`
	BucketName   string `json:"bucketName"`
	Insecure     bool   `json:"insecure,omitempty"`
	AccessKey    string `json:"accessKey,omitempty"`
	SecretKey    string `json:"secretKey,omitempty"`
	SyncInterval string `json:"syncInterval,omitempty"`
	Timeout      string `json:"timeout,omitempty"`
	LocalAuthRef string `json:"localAuthRef,omitempty"`
}

// AzureBlob is an Azure Blob container source.
type AzureBlob struct {
	URL                     string `json:"url"`
	ContainerName           string `json:"containerName"`
	AccountKey              string `json:"accountKey,omitempty"`
	SASToken                string `json:"sasToken,omitempty"`
	ManagedIdentityClientID string `json:"managedIdentityClientId,omitempty"`
	SyncInterval            string `json:"syncInterval,omitempty"`
	Timeout                 string `json:"timeout,omitempty"`
	LocalAuthRef            string `json:"localAuthRef,omitempty"`
}

// Kustomization is one Flux kustomization of the configuration.
type Kustomization struct {
	Name          string     `json:"name"`
	Path          string     `json:"path,omitempty"`
	DependsOn     []string   `json:"dependsOn,omitempty"`
	Prune         bool       `json:"prune,omitempty"`
	Force         bool       `json:"force,omitempty"`
	Wait          *bool      `json:"wait,omitempty"`
	SyncInterval  string     `json:"syncInterval,omitempty"`
	RetryInterval string     `json:"retryInterval,omitempty"`
	Timeout       string     `json:"timeout,omitempty"`
	PostBuild     *PostBuild `json:"postBuild,omitempty"`
}

// PostBuild holds the kustomization's variable substitutions.
type PostBuild struct {
	Substitute     map[string]string `json:"substitute,omitempty"`
	SubstituteFrom []SubstituteFrom  `json:"substituteFrom,omitempty"`
}

// SubstituteFrom reads substitutions from a ConfigMap or Secret.
type SubstituteFrom struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Optional bool   `json:"optional,omitempty"`
}

// sourceTiming checks a source's intervals (whole seconds).
func (c *checker) sourceTiming(prefix, syncInterval, timeout string) {
	c.duration(prefix+".syncInterval", syncInterval, time.Second)
	c.duration(prefix+".timeout", timeout, time.Second)
}

func (s *Flux) check(c *checker) {
	s.Target.check(c, "flux")
	c.duration("flux.timeout", s.Timeout, time.Minute)
	if g := s.GitRepository; g != nil {
		f := "flux.gitRepository"
		c.sourceTiming(f, g.SyncInterval, g.Timeout)
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
		f := "flux.bucket"
		c.sourceTiming(f, b.SyncInterval, b.Timeout)
		c.secret(f+".secretKey", b.SecretKey)
		if (b.AccessKey == "") != (b.SecretKey == "") {
			c.bad(f, "accessKey and secretKey go together")
		}
	}
	if a := s.AzureBlob; a != nil {
		f := "flux.azureBlob"
		c.sourceTiming(f, a.SyncInterval, a.Timeout)
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
	s.checkKustomizations(c)
}

// checkKustomizations checks the kustomizations as a set: unique names, Flux's name length,
// dependencies on siblings without cycles, and warns about prune.
func (s *Flux) checkKustomizations(c *checker) {
	names := map[string]bool{}
	for _, k := range s.Kustomizations {
		names[k.Name] = true
	}
	seen := map[string]bool{}
	for i, k := range s.Kustomizations {
		f := fmt.Sprintf("flux.kustomizations[%d]", i)
		if k.Name != "" {
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

// run ensures the extension and the configuration (install, upgrade, custom actions) or
// deletes the configuration (uninstall).
func (s *Flux) run(ctx context.Context, m *Mixin, action string, log io.Writer) ([]byte, error) {
	az, _, _, err := m.azure(ctx, s.Target)
	if err != nil {
		return nil, err
	}
	cfg := &flux.Configurator{Extensions: az.Extensions, Configurations: az.Configurations, Poll: m.Poll, Log: log}
	spec := FluxSpec(*s)
	if action == "uninstall" {
		return nil, cfg.Delete(ctx, spec)
	}
	fc, err := cfg.Apply(ctx, spec)
	if err != nil {
		return nil, err
	}
	return json.Marshal(redact(fc))
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
// (The fake ARM of the tests answers without protected settings too, independently.)
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
