package arcflux

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
	"github.com/edgeframe/edgeframe/mixin/pkg/arc"
)

// DefaultConnectTimeout bounds a connect command without a timeout.
const DefaultConnectTimeout = 15 * time.Minute

// Connect onboards the cluster of a kubeconfig to Azure Arc (schema: definitions.connect).
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

func (s *Connect) check(c *checker) {
	s.Target.check(c, "connect")
	if c.action != "uninstall" && strings.TrimSpace(s.Location) == "" {
		c.bad("connect.location", "is required")
	}
	c.duration("connect.timeout", s.Timeout, time.Minute)
	// All proxy fields empty means no proxy (e.g. bundle parameters left at their "" default).
	if p := s.Proxy; p != nil && p.HTTPProxy == "" && p.HTTPSProxy == "" {
		for _, f := range []struct{ name, v string }{{"noProxy", p.NoProxy}, {"caCertFile", p.CACertFile}} {
			if f.v != "" {
				c.bad("connect.proxy."+f.name, "%q is set but neither httpProxy nor httpsProxy is", f.v)
			}
		}
	}
}

// run onboards the cluster (install, upgrade, custom actions) or disconnects it (uninstall).
func (s *Connect) run(ctx context.Context, m *Mixin, action string, log io.Writer) ([]byte, error) {
	az, cloud, sub, err := m.azure(ctx, s.Target)
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
	kube, err := kf(m.kubeconfigPath(s.Kubeconfig), s.KubeContext, helmDebug)
	if err != nil {
		return nil, err
	}
	spec := arc.Spec{
		SubscriptionID: sub, TenantID: m.getenv("AZURE_TENANT_ID"),
		ResourceGroup: s.ResourceGroup, ClusterName: s.ClusterName,
		Location: strings.ToLower(s.Location), Tags: s.Tags,
		Distribution: s.Distribution, Infrastructure: s.Infrastructure,
		ReleaseTrain: s.ReleaseTrain, AutoUpdate: s.AutoUpdate,
		AgentEnvironment: cloud.AgentEnvironment,
		Timeout:          parseDuration(s.Timeout, DefaultConnectTimeout),
	}
	if p := s.Proxy; p != nil {
		spec.Proxy = arc.Proxy{HTTPProxy: p.HTTPProxy, HTTPSProxy: p.HTTPSProxy, NoProxy: p.NoProxy}
		if p.CACertFile != "" {
			b, err := os.ReadFile(p.CACertFile)
			if err != nil {
				return nil, fmt.Errorf("connect.proxy.caCertFile: %w", err)
			}
			spec.Proxy.CACert = b
		}
	}
	if a := s.AgentChart; a != nil {
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
