package charts

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	dfpclusterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/clusters/dynamic_forward_proxy/v3"
	snidfpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/sni_dynamic_forward_proxy/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	caresv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/network/dns_resolver/cares/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	// Typed configs the bootstrap uses, registered for protojson and Any resolution.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// bootstrap renders envoy-proxy with vals, parses its envoy.yaml into bootstrap v3 and
// validates it and every typed config inside it.
func bootstrap(t *testing.T, vals map[string]any) *bootstrapv3.Bootstrap {
	t.Helper()
	files := renderChart(t, "envoy-proxy", "envoy-proxy", "edge-system", vals)
	text := configMapData(t, files, "envoy-proxy-config", "envoy.yaml")
	js, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatalf("envoy.yaml is not YAML: %v", err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatalf("envoy.yaml does not parse as bootstrap v3: %v\n%s", err, text)
	}
	if err := b.ValidateAll(); err != nil {
		t.Fatalf("bootstrap ValidateAll: %v", err)
	}
	if err := validateTyped(b.ProtoReflect(), "bootstrap"); err != nil {
		t.Fatal(err)
	}
	return &b
}

// validateTyped unpacks every google.protobuf.Any below m and runs its ValidateAll.
func validateTyped(m protoreflect.Message, at string) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		check := func(msg protoreflect.Message, where string) {
			if err != nil {
				return
			}
			if a, ok := msg.Interface().(*anypb.Any); ok {
				inner, uerr := a.UnmarshalNew()
				if uerr != nil {
					err = fmt.Errorf("%s: %s: %w", where, a.GetTypeUrl(), uerr)
					return
				}
				if v, ok := inner.(interface{ ValidateAll() error }); ok {
					if verr := v.ValidateAll(); verr != nil {
						err = fmt.Errorf("%s (%s): %w", where, a.GetTypeUrl(), verr)
						return
					}
				}
				err = validateTyped(inner.ProtoReflect(), where+"."+a.GetTypeUrl())
				return
			}
			err = validateTyped(msg, where)
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				check(l.Get(i).Message(), fmt.Sprintf("%s.%s[%d]", at, fd.Name(), i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					check(mv.Message(), fmt.Sprintf("%s.%s[%v]", at, fd.Name(), k))
				}
				return err == nil
			})
		default:
			check(v.Message(), at+"."+string(fd.Name()))
		}
		return err == nil
	})
	return err
}

// sniRoute returns the upstream cluster a TLS connection with server name host reaches on
// listener, following Envoy's filter chain match: an exact server name first, then the
// longest matching "*.suffix" wildcard. "" means no chain matches: the connection is closed.
func sniRoute(t *testing.T, b *bootstrapv3.Bootstrap, listener, host string) string {
	t.Helper()
	for _, l := range b.GetStaticResources().GetListeners() {
		if l.GetName() != listener {
			continue
		}
		best, bestLen := -1, -1
		for i, fc := range l.GetFilterChains() {
			names := fc.GetFilterChainMatch().GetServerNames()
			if len(names) == 0 {
				t.Fatalf("listener %s filter chain %d has no server_names: it would accept any host", listener, i)
			}
			for _, n := range names {
				switch {
				case n == host:
					return chainCluster(t, fc.GetFilters()[len(fc.GetFilters())-1].GetTypedConfig())
				case strings.HasPrefix(n, "*.") && strings.HasSuffix(host, n[1:]) && len(n) > bestLen:
					best, bestLen = i, len(n)
				}
			}
		}
		if best < 0 {
			return ""
		}
		fs := l.GetFilterChains()[best].GetFilters()
		return chainCluster(t, fs[len(fs)-1].GetTypedConfig())
	}
	t.Fatalf("no listener %s", listener)
	return ""
}

func chainCluster(t *testing.T, a *anypb.Any) string {
	t.Helper()
	var tp tcpproxyv3.TcpProxy
	if err := a.UnmarshalTo(&tp); err != nil {
		t.Fatalf("last filter is not tcp_proxy: %v", err)
	}
	return tp.GetCluster()
}

// checkClusters: every cluster a tcp_proxy names exists.
func checkClusters(t *testing.T, b *bootstrapv3.Bootstrap) {
	t.Helper()
	have := map[string]bool{}
	for _, c := range b.GetStaticResources().GetClusters() {
		have[c.GetName()] = true
	}
	var missing []string
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				var tp tcpproxyv3.TcpProxy
				if proto.Equal(f.GetTypedConfig(), nil) || f.GetTypedConfig().UnmarshalTo(&tp) != nil {
					continue
				}
				if !have[tp.GetCluster()] {
					missing = append(missing, l.GetName()+"→"+tp.GetCluster())
				}
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("tcp_proxy filters name clusters that do not exist: %v", missing)
	}
}

func TestEnvoyBootstrapValidAndAllowList(t *testing.T) {
	custom := map[string]any{
		"region":      "westeurope",
		"allowList":   map[string]any{"customDomains": []any{"registry.example.com", "*.blob.example.net"}},
		"upstreamDNS": map[string]any{"resolvers": []any{"168.63.129.16"}},
		"listeners":   map[string]any{"otlp": map[string]any{"enabled": true}, "mqtt": map[string]any{"enabled": true}},
	}
	top := bootstrap(t, custom)
	childVals := map[string]any{"region": "westeurope", "parent": map[string]any{"enabled": true, "address": "172.18.0.10"},
		"allowList": custom["allowList"], "listeners": custom["listeners"]}
	child := bootstrap(t, childVals)
	checkClusters(t, top)
	checkClusters(t, child)

	cases := []struct {
		host      string
		top       string // cluster at the top level ("" = denied)
		childGoes bool   // forwarded to the parent at a child level
	}{
		{"management.azure.com", "egress_management_azure_com", true},
		{"login.microsoftonline.com", "egress_login_microsoftonline_com", true},
		{"westeurope.dp.kubernetesconfiguration.azure.com", "egress_westeurope_dp_kubernetesconfiguration_azure_com", true},
		{"registry.example.com", "egress_registry_example_com", true},
		{"abc.his.arc.azure.com", "egress_wildcard", true},
		{"a.b.his.arc.azure.com", "egress_wildcard", true},
		{"gbl.his.arc.azure.com", "egress_gbl_his_arc_azure_com", true},
		{"x.blob.example.net", "egress_wildcard", true},
		{"westeurope.obo.arc.azure.com", "egress_westeurope_obo_arc_azure_com", true},
		// Denied: unlisted, look-alikes, other regions, bare wildcard parents.
		{"example.com", "", false},
		{"evil.com", "", false},
		{"management.azure.com.evil.com", "", false},
		{"xmanagement.azure.com", "", false},
		{"northeurope.dp.kubernetesconfiguration.azure.com", "", false},
		{"his.arc.azure.com", "", false},
		{"blob.example.net", "", false},
		{"registry.example.com.", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		if got := sniRoute(t, top, "https_passthrough", c.host); got != c.top {
			t.Errorf("top: SNI %q → cluster %q, want %q", c.host, got, c.top)
		}
		want := ""
		if c.childGoes {
			want = "parent_https"
		}
		if got := sniRoute(t, child, "https_passthrough", c.host); got != want {
			t.Errorf("child: SNI %q → cluster %q, want %q", c.host, got, want)
		}
	}
	// Arc cluster-connect: only <region>.obo.arc.azure.com.
	if got := sniRoute(t, top, "arc_cluster_connect", "westeurope.obo.arc.azure.com"); got != "arc_obo" {
		t.Errorf("top obo → %q, want arc_obo", got)
	}
	if got := sniRoute(t, child, "arc_cluster_connect", "westeurope.obo.arc.azure.com"); got != "parent_obo" {
		t.Errorf("child obo → %q, want parent_obo", got)
	}
	if got := sniRoute(t, child, "arc_cluster_connect", "management.azure.com"); got != "" {
		t.Errorf("child obo accepted management.azure.com → %q", got)
	}
}

// TestEnvoyProfilesValidate: the Envoy config of every profile is a valid bootstrap.
func TestEnvoyProfilesValidate(t *testing.T) {
	for _, p := range profiles(t) {
		for _, r := range releasesOf(t, p, "envoy-proxy") {
			t.Run(p.Name, func(t *testing.T) { checkClusters(t, bootstrap(t, r.Values)) })
		}
	}
}

// clusterResolvers returns the upstream DNS resolvers a cluster uses for its names: the c-ares
// resolver of a DNS cluster or of a dynamic forward proxy's DNS cache. resolved is false for a
// cluster that resolves nothing (STATIC); an empty list means the pod's resolver, i.e. the
// cluster DNS with the DNS override in it.
func clusterResolvers(t *testing.T, c *clusterv3.Cluster) (resolvers []string, resolved bool) {
	t.Helper()
	if ct := c.GetClusterType(); ct != nil {
		var dfp dfpclusterv3.ClusterConfig
		if err := ct.GetTypedConfig().UnmarshalTo(&dfp); err != nil {
			t.Fatalf("cluster %s: %v", c.GetName(), err)
		}
		return caresResolvers(t, dfp.GetDnsCacheConfig().GetTypedDnsResolverConfig()), true
	}
	switch c.GetType() {
	case clusterv3.Cluster_LOGICAL_DNS, clusterv3.Cluster_STRICT_DNS:
		return caresResolvers(t, c.GetTypedDnsResolverConfig()), true
	}
	return nil, false
}

func caresResolvers(t *testing.T, tc *corev3.TypedExtensionConfig) []string {
	t.Helper()
	if tc == nil {
		return nil
	}
	var cares caresv3.CaresDnsResolverConfig
	if err := tc.GetTypedConfig().UnmarshalTo(&cares); err != nil {
		t.Fatalf("typed_dns_resolver_config: %v", err)
	}
	var out []string
	for _, r := range cares.GetResolvers() {
		out = append(out, fmt.Sprintf("%s:%d", r.GetSocketAddress().GetAddress(), r.GetSocketAddress().GetPortValue()))
	}
	return out
}

// TestEnvoyAllowedNamesNeverLoopBack: at the top level every allowed name — exact names, the Arc
// cluster-connect host, wildcard names through the SNI dynamic forward proxy (its filter and its
// cluster share one DNS cache configuration) and the Kafka listener's names — is resolved by
// upstreamDNS.resolvers, never by the pod's resolver, where the level's DNS override answers
// with this proxy. Below the top level the parent address is neither this proxy's own address
// nor an allowed name (the override would send it back here). Every profile.
func TestEnvoyAllowedNamesNeverLoopBack(t *testing.T) {
	checked := 0
	for _, p := range profiles(t) {
		for _, r := range releasesOf(t, p, "envoy-proxy") {
			vals := r.Values
			t.Run(p.Name, func(t *testing.T) {
				checked++
				b := bootstrap(t, vals)
				files := renderRelease(t, p, r.ProfileRelease)
				allow := allowList(t, files)
				ownIP, _, _ := unstructured.NestedString(vals, "service", "clusterIP")
				parent, _, _ := unstructured.NestedMap(vals, "parent")
				clusters := map[string]*clusterv3.Cluster{}
				for _, c := range b.GetStaticResources().GetClusters() {
					clusters[c.GetName()] = c
				}
				if parent["enabled"] == true {
					addr, _ := parent["address"].(string)
					if addr == "" || addr == ownIP {
						t.Errorf("parent.address %q is this proxy's own address", addr)
					}
					if allow.matches(addr) {
						t.Errorf("parent.address %q is an allowed name: the DNS override resolves it to this proxy", addr)
					}
					return
				}
				want, _, _ := unstructured.NestedStringSlice(vals, "upstreamDNS", "resolvers")
				if len(want) == 0 {
					t.Fatal("top level without upstreamDNS.resolvers: every allowed name would resolve to this proxy")
				}
				for i := range want {
					if want[i] == ownIP {
						t.Errorf("upstreamDNS.resolvers[%d] is this proxy's address", i)
					}
					want[i] += ":53"
				}
				hosts := append(append([]string{}, allow.exact...), "westeurope.obo.arc.azure.com")
				for _, w := range allow.wildcard {
					hosts = append(hosts, "x1"+w[1:])
				}
				listeners := map[string]string{}
				for _, h := range hosts {
					listeners[h] = "https_passthrough"
				}
				kafka, _, _ := unstructured.NestedStringSlice(vals, "listeners", "kafka", "serverNames")
				if on, _, _ := unstructured.NestedBool(vals, "listeners", "kafka", "enabled"); on {
					if len(kafka) == 0 {
						kafka = []string{"*.servicebus.windows.net"}
					}
					for _, k := range kafka {
						h := strings.Replace(k, "*", "ns1", 1)
						hosts = append(hosts, h+":kafka")
					}
				}
				region, _ := vals["region"].(string)
				if region == "" {
					region = "northeurope"
				}
				for _, h := range hosts {
					listener, host := "https_passthrough", h
					if strings.HasSuffix(h, ":kafka") {
						listener, host = "kafka_passthrough", strings.TrimSuffix(h, ":kafka")
					}
					if host == "westeurope.obo.arc.azure.com" {
						listener, host = "arc_cluster_connect", region+".obo.arc.azure.com"
					}
					name := sniRoute(t, b, listener, host)
					c := clusters[name]
					if c == nil {
						t.Errorf("%s on %s reaches no cluster (%q)", host, listener, name)
						continue
					}
					got, resolved := clusterResolvers(t, c)
					if !resolved || strings.Join(got, ",") != strings.Join(want, ",") {
						t.Errorf("%s on %s → cluster %s resolves with %v, want upstreamDNS %v", host, listener, name, got, want)
					}
				}
				// The SNI filters' DNS caches carry the same resolvers as their clusters.
				for _, l := range b.GetStaticResources().GetListeners() {
					for _, fc := range l.GetFilterChains() {
						for _, f := range fc.GetFilters() {
							var sni snidfpv3.FilterConfig
							if f.GetTypedConfig().UnmarshalTo(&sni) != nil {
								continue
							}
							if got := caresResolvers(t, sni.GetDnsCacheConfig().GetTypedDnsResolverConfig()); strings.Join(got, ",") != strings.Join(want, ",") {
								t.Errorf("listener %s: sni_dynamic_forward_proxy DNS cache resolves with %v, want %v", l.GetName(), got, want)
							}
						}
					}
				}
			})
		}
	}
	if checked < 4 {
		t.Fatalf("checked %d envoy-proxy releases, want one per profile", checked)
	}
}

// allowedNames is the allow-list a rendered envoy-proxy release serves.
type allowedNames struct{ exact, wildcard []string }

func (a allowedNames) matches(host string) bool {
	for _, e := range a.exact {
		if e == host {
			return true
		}
	}
	for _, w := range a.wildcard {
		if strings.HasSuffix(host, w[1:]) {
			return true
		}
	}
	return false
}

// allowList reads the https_passthrough listener's server names at the top level, or the one
// parent chain's names below it.
func allowList(t *testing.T, files map[string]string) allowedNames {
	t.Helper()
	text := configMapData(t, files, "envoy-proxy-config", "envoy.yaml")
	js, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatal(err)
	}
	var a allowedNames
	for _, l := range b.GetStaticResources().GetListeners() {
		if l.GetName() != "https_passthrough" {
			continue
		}
		for _, fc := range l.GetFilterChains() {
			for _, n := range fc.GetFilterChainMatch().GetServerNames() {
				if strings.HasPrefix(n, "*.") {
					a.wildcard = append(a.wildcard, n)
				} else {
					a.exact = append(a.exact, n)
				}
			}
		}
	}
	return a
}
