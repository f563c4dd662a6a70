package charts

import (
	"regexp"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	snidfpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/sni_dynamic_forward_proxy/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var coreDNSRewrite = regexp.MustCompile(`name regex (\S+) (\S+)\.`)

// TestGatewayReachesEventHubsThroughTheProxy follows the data gateway's connections to Event
// Hubs through the objects a profile installs, as the cluster would: the DNS override rewrites
// <namespace>.servicebus.windows.net to the proxy's Service; the Service has the port (9093 for
// Kafka over TLS, 443 for AMQP/HTTPS) and forwards it to a pod port; the gateway's
// NetworkPolicies allow that pod port (policies see traffic after the Service's DNAT); Envoy
// listens there, matches the TLS server name and passes the connection on to the same name and
// port through its upstream resolvers.
func TestGatewayReachesEventHubsThroughTheProxy(t *testing.T) {
	const host = "ns1.servicebus.windows.net"
	for _, name := range []string{"l4", "single-cluster"} {
		p := profileNamed(t, name)
		t.Run(name, func(t *testing.T) {
			var dnsTarget string
			var proxyObjs, gatewayObjs []*unstructured.Unstructured
			var proxyVals map[string]any
			for _, r := range p.Releases {
				vals, err := p.Values(r)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case r.Chart == "dns-override":
					// The override is what puts the proxy in the path (opt-in on a shared single cluster).
					vals = merge(vals, map[string]any{"coreDNS": map[string]any{"enabled": true}})
					files := renderChart(t, r.Chart, r.Name, r.Namespace, vals)
					var cm corev1.ConfigMap
					if err := yaml.Unmarshal([]byte(configMapData(t, files, "dns-override-manifests", "apply.yaml")), &cm); err != nil {
						t.Fatal(err)
					}
					for _, v := range cm.Data {
						for _, m := range coreDNSRewrite.FindAllStringSubmatch(v, -1) {
							if regexp.MustCompile(m[1]).MatchString(host + ".") {
								dnsTarget = m[2]
							}
						}
					}
				case r.Chart == "envoy-proxy":
					proxyVals = vals
					proxyObjs = objects(t, chartrender.Manifests(renderRelease(t, p, r)))
				case r.Chart == "edge-workloads" && strings.HasSuffix(r.Namespace, "l4"):
					gatewayObjs = objects(t, chartrender.Manifests(renderRelease(t, p, r)))
				}
			}
			var svc *unstructured.Unstructured
			for _, o := range proxyObjs {
				if o.GetKind() == "Service" && o.GetName()+"."+o.GetNamespace()+".svc.cluster.local" == dnsTarget ||
					o.GetKind() == "Service" && dnsTarget == o.GetName()+".edge-system.svc.cluster.local" {
					svc = o
				}
			}
			if svc == nil {
				t.Fatalf("the DNS override sends %s to %q, which is not the proxy's Service", host, dnsTarget)
			}
			b := bootstrap(t, proxyVals)
			for _, port := range []int64{9093, 443} {
				pod := podPort(t, proxyObjs, svc.GetName(), port)
				if pod == 0 {
					t.Errorf("%s:%d: the proxy's Service has no port %d: connection refused", host, port, port)
					continue
				}
				if !egressAllows(t, gatewayObjs, "edge-system", pod) {
					t.Errorf("%s:%d: the gateway's NetworkPolicies do not allow the proxy's pod port %d", host, port, pod)
				}
				listener := ""
				for _, l := range b.GetStaticResources().GetListeners() {
					if int64(l.GetAddress().GetSocketAddress().GetPortValue()) == pod {
						listener = l.GetName()
					}
				}
				if listener == "" {
					t.Errorf("%s:%d: Envoy listens on no port %d", host, port, pod)
					continue
				}
				if cluster := sniRoute(t, b, listener, host); cluster == "" {
					t.Errorf("%s:%d: listener %s closes server name %s", host, port, listener, host)
				}
				// Upstream: the same name on the same port.
				upstream := int64(0)
				for _, l := range b.GetStaticResources().GetListeners() {
					if l.GetName() != listener {
						continue
					}
					for _, fc := range l.GetFilterChains() {
						for _, f := range fc.GetFilters() {
							var sni snidfpv3.FilterConfig
							if f.GetTypedConfig().UnmarshalTo(&sni) == nil && matchesAny(fc.GetFilterChainMatch().GetServerNames(), host) {
								upstream = int64(sni.GetPortValue())
							}
						}
					}
				}
				if upstream != port {
					t.Errorf("%s:%d: Envoy forwards to upstream port %d", host, port, upstream)
				}
			}
		})
	}
}

func matchesAny(names []string, host string) bool {
	for _, n := range names {
		if n == host || strings.HasPrefix(n, "*.") && strings.HasSuffix(host, n[1:]) {
			return true
		}
	}
	return false
}
