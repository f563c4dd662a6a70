package arcflux

import (
	"encoding/json"
	"fmt"
	"sort"

	"sigs.k8s.io/yaml"
)

// Step is one arcflux step: a description, exactly one typed command
// (connect, flux or status) and porter's step options.
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
	Value *string `json:"value"`
	// Equals is the value for which the step runs ("" is allowed).
	Equals *string `json:"equals"`
}

// Holds reports whether the step's condition holds (true without a condition).
func (w *When) Holds() bool {
	return w == nil || w.Value == nil || w.Equals == nil || *w.Value == *w.Equals
}

// Command names the typed command of the step ("" when none or several).
func (s Step) Command() string {
	var names []string
	if s.Connect != nil {
		names = append(names, "connect")
	}
	if s.Flux != nil {
		names = append(names, "flux")
	}
	if s.Status != nil {
		names = append(names, "status")
	}
	if len(names) != 1 {
		return ""
	}
	return names[0]
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

// Connect onboards the cluster of a kubeconfig to Azure Arc.
type Connect struct {
	Target
	Location       string            `json:"location,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Distribution   string            `json:"distribution,omitempty"`
	Infrastructure string            `json:"infrastructure,omitempty"`
	// Kubeconfig defaults to env KUBECONFIG, then $HOME/.kube/config.
	Kubeconfig   string      `json:"kubeconfig,omitempty"`
	KubeContext  string      `json:"kubeContext,omitempty"`
	Proxy        *Proxy      `json:"proxy,omitempty"`
	AgentChart   *AgentChart `json:"agentChart,omitempty"`
	ReleaseTrain string      `json:"releaseTrain,omitempty"`
	AutoUpdate   *bool       `json:"autoUpdate,omitempty"`
	// Timeout is a Go duration (default 15m).
	Timeout string `json:"timeout,omitempty"`
}

// Proxy configures the agents' outbound proxy.
type Proxy struct {
	HTTPProxy  string `json:"httpProxy,omitempty"`
	HTTPSProxy string `json:"httpsProxy,omitempty"`
	NoProxy    string `json:"noProxy,omitempty"`
	// CACertFile is a PEM file with the proxy's CA certificate.
	CACertFile string `json:"caCertFile,omitempty"`
}

// AgentChart overrides where the agents chart comes from.
type AgentChart struct {
	// Location is oci://registry/repository:version (an air-gapped mirror), a chart directory or .tgz.
	Location  string `json:"location"`
	PlainHTTP bool   `json:"plainHTTP,omitempty"`
}

// Flux ensures the microsoft.flux extension and a Flux configuration.
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

// Status reports Arc connectivity and Flux compliance (custom actions).
type Status struct {
	Target
	ClusterType string `json:"clusterType,omitempty"`
	// FluxConfigurations limits the report to these names (default: all).
	FluxConfigurations []string `json:"fluxConfigurations,omitempty"`
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

// stepEntry is one element of an action list: {arcflux: Step}.
type stepEntry struct {
	Arcflux Step `json:"arcflux"`
}

// Actions are the steps per action name, as porter sends them on stdin.
type Actions map[string][]Step

// Names returns the action names in a stable order (install, upgrade, uninstall, then custom ones sorted).
func (a Actions) Names() []string {
	rank := map[string]int{"install": 0, "upgrade": 1, "uninstall": 2}
	names := make([]string, 0, len(a))
	for n := range a {
		names = append(names, n)
	}
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

// parseActions decodes an action map {<action>: [{arcflux: step}, ...]}
// strictly: an unknown field is an error naming it.
func parseActions(data []byte) (Actions, error) {
	var raw map[string][]json.RawMessage
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("step YAML: %w", err)
	}
	out := Actions{}
	for action, entries := range raw {
		for i, e := range entries {
			var se stepEntry
			if err := decodeStrict(e, &se); err != nil {
				return nil, fmt.Errorf("%s step %d: %w", action, i+1, err)
			}
			out[action] = append(out[action], se.Arcflux)
		}
	}
	return out, nil
}

func decodeStrict(data []byte, v any) error {
	return yaml.UnmarshalStrict(data, v)
}
