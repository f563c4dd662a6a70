package charts

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	// Typed configs the bootstrap uses, registered for protojson and Any resolution.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/clusters/dynamic_forward_proxy/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/sni_dynamic_forward_proxy/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/network/dns_resolver/cares/v3"
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
		for _, r := range p.Releases {
			if r.Chart != "envoy-proxy" {
				continue
			}
			vals, err := p.Values(r)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(p.Name, func(t *testing.T) { checkClusters(t, bootstrap(t, vals)) })
		}
	}
}
