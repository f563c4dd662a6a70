package topology_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/internal/selfhosted"
	"github.com/edgeframe/edgeframe/internal/topology"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// What a local run may change in a profile's files, and only that: loopback listeners and
// ports, file paths, the parent's address, and how generated secrets reach the process (the
// local file secret store that stands in for the Kubernetes one).
var (
	localMosquitto = map[string]string{
		"listener":             "loopback address and port",
		"address":              "the parent's loopback address",
		"password_file":        "path",
		"acl_file":             "path",
		"persistence_location": "path",
		"cafile":               "path",
		"certfile":             "path",
		"keyfile":              "path",
		"bridge_cafile":        "path",
		"bridge_certfile":      "path",
		"bridge_keyfile":       "path",
		"user":                 "a broker started as root keeps its user (a pod's securityContext in a cluster)",
	}
	localDapr = map[string]string{
		"Component/edge-secrets":                                       "the local file secret store holding the generated broker credentials",
		"Component/edge-pubsub: auth.secretStore":                      "the pub/sub component reads its secret from that store",
		"Configuration/edge-config: spec.tracing.otel.endpointAddress": "loopback trace endpoint",
	}
)

// TestLocalFilesAreTheProfiles plans the local topology (what `make demo`, test/e2e and
// test/bench run) and compares every file it gives mosquitto and daprd with what the
// level's profile renders for a cluster: they may differ only where localMosquitto and
// localDapr say, and every difference is named by its field.
func TestLocalFilesAreTheProfiles(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	charts := filepath.Join(root, "charts")
	cfg := topology.Config{
		Rate: 10, OPCRate: 1, RunDir: t.TempDir(), ChartsDir: charts,
		Mosquitto: "/nonexistent/mosquitto", Daprd: "/nonexistent/daprd",
		Binaries: map[string]string{},
	}
	for _, w := range []string{topology.OPCPLC, topology.OPCPublisher, topology.TempSensor, topology.DataGateway} {
		cfg.Binaries[w] = "/nonexistent/" + w
	}
	topo, err := topology.Plan(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range topology.Levels {
		rel, err := selfhosted.LoadRelease(charts, level, selfhosted.MosquittoChart)
		if err != nil {
			t.Fatal(err)
		}
		files := renderProfile(t, charts, rel)
		data, err := selfhosted.ConfigMapData(files, "templates/configmap.yaml", "mosquitto.conf", "acl.conf")
		if err != nil {
			t.Fatal(err)
		}
		b := topo.Brokers[level]
		for _, f := range []struct {
			name, cluster, local string
			acl                  bool
		}{
			{"mosquitto.conf", data["mosquitto.conf"], readFile(t, b.Files.ConfPath), false},
			{"acl.conf", data["acl.conf"], readFile(t, b.Files.ACLPath), true},
		} {
			for _, d := range diffMosquitto(f.cluster, f.local, f.acl) {
				if why, ok := localMosquitto[d.field]; !ok {
					t.Errorf("%s %s: %s: profile %q, local %q", level, f.name, d.at, d.cluster, d.local)
				} else {
					t.Logf("%s %s: %s differs (allowed: %s)", level, f.name, d.at, why)
				}
			}
		}
	}
	for id, s := range topo.Sidecars {
		rel, err := selfhosted.LoadRelease(charts, s.Level, selfhosted.DaprChart)
		if err != nil {
			t.Fatal(err)
		}
		cluster := daprObjects(t, chartrender.Manifests(renderProfile(t, charts, rel)))
		local := map[string]map[string]any{}
		paths, _ := filepath.Glob(filepath.Join(s.Files.ResourcesDir, "*.yaml"))
		paths = append(paths, s.Files.ConfigPath)
		for _, p := range paths {
			for k, v := range daprObjects(t, readFile(t, p)) {
				local[k] = v
			}
		}
		for _, d := range diffObjects(cluster, local) {
			if why, ok := localDapr[d.field]; !ok {
				t.Errorf("%s sidecar: %s: profile %s, local %s", id, d.at, d.cluster, d.local)
			} else {
				t.Logf("%s sidecar: %s differs (allowed: %s)", id, d.at, why)
			}
		}
	}
}

func renderProfile(t *testing.T, charts string, rel selfhosted.Release) map[string]string {
	t.Helper()
	files, err := rel.Render(context.Background(), charts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type difference struct {
	field, at      string // the allow-list key; where, for the message
	cluster, local string
}

// diffMosquitto compares two mosquitto configuration files directive by directive: the
// n-th occurrence of a directive in its section (the global part, each listener, each bridge
// connection; each user of an ACL file), comments and blank lines ignored.
func diffMosquitto(cluster, local string, acl bool) []difference {
	parse := func(text string) map[string]string {
		out := map[string]string{}
		section, seen, listeners := "global", map[string]int{}, 0
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			key, val, _ := strings.Cut(line, " ")
			switch {
			case key == "listener" && !acl:
				listeners++
				section = fmt.Sprintf("listener[%d]", listeners)
			case key == "connection" && !acl, key == "user" && acl:
				section = key + " " + val
			}
			id := section + "/" + key
			seen[id]++
			out[fmt.Sprintf("%s#%d", id, seen[id])] = val
		}
		return out
	}
	c, l := parse(cluster), parse(local)
	var out []difference
	for _, k := range unionKeys(c, l) {
		if c[k] != l[k] {
			directive := k[strings.LastIndex(k, "/")+1 : strings.LastIndex(k, "#")]
			out = append(out, difference{field: directive, at: k, cluster: c[k], local: l[k]})
		}
	}
	return out
}

// daprObjects decodes a YAML stream into its objects by "<kind>/<name>".
func daprObjects(t *testing.T, stream string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range strings.Split(stream, "\n---") {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		if o == nil {
			continue
		}
		meta, _ := o["metadata"].(map[string]any)
		out[fmt.Sprintf("%v/%v", o["kind"], meta["name"])] = o
	}
	return out
}

// diffObjects compares two sets of objects field by field (leaves by their dotted path).
func diffObjects(cluster, local map[string]map[string]any) []difference {
	var out []difference
	for _, k := range unionKeys(cluster, local) {
		c, l := cluster[k], local[k]
		if c == nil || l == nil {
			out = append(out, difference{field: k, at: k, cluster: present(c), local: present(l)})
			continue
		}
		fc, fl := map[string]any{}, map[string]any{}
		flatten("", c, fc)
		flatten("", l, fl)
		for _, p := range unionKeys(fc, fl) {
			if !reflect.DeepEqual(fc[p], fl[p]) {
				out = append(out, difference{field: k + ": " + p, at: k + ": " + p,
					cluster: fmt.Sprintf("%v", fc[p]), local: fmt.Sprintf("%v", fl[p])})
			}
		}
	}
	return out
}

func present(o map[string]any) string {
	if o == nil {
		return "absent"
	}
	return "present"
}

func flatten(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(strings.TrimPrefix(prefix+"."+k, "."), e, out)
		}
	case []any:
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		out[prefix] = v
	}
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
