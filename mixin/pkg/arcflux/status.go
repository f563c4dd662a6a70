package arcflux

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes"

	"github.com/edgeframe/edgeframe/mixin/pkg/arc"
	"github.com/edgeframe/edgeframe/mixin/pkg/flux"
)

// Status reports Arc connectivity and Flux compliance, in custom actions only
// (schema: definitions.status).
type Status struct {
	Target
	ClusterType string `json:"clusterType,omitempty"`
	// FluxConfigurations limits the report to these names (default: all).
	FluxConfigurations []string `json:"fluxConfigurations,omitempty"`
}

func (s *Status) check(c *checker) {
	if !c.custom {
		c.add(CodeStatusAction, LevelError, "status", "is only allowed in a custom action (porter invoke --action <name>), not in %s", c.action)
	}
	s.Target.check(c, "status")
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

// run prints the report as text and returns it as JSON (the resource of the step's outputs).
func (s *Status) run(ctx context.Context, m *Mixin, _ string, log io.Writer) ([]byte, error) {
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
