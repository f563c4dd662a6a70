package topology

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/charts/render"
)

// PubSubUser is the broker user of every Dapr sidecar's edge-pubsub component (the
// mosquitto chart's ACL grants it telemetry, control and dead-letter topics).
const PubSubUser = "edge-pubsub"

// MonitorUser is the broker user the topology's own taps log in as (read-only on
// telemetry/# and $SYS/#).
const MonitorUser = "edgeframe-monitor"

// BrokerFiles is what a level's broker needs on disk, all under Dir.
type BrokerFiles struct {
	Level     string
	Dir       string
	ConfPath  string // Dir/config/mosquitto.conf, rendered by the mosquitto chart
	ACLPath   string // Dir/config/acl.conf, rendered by the mosquitto chart
	Passwords map[string]string
}

// BrokerValues are the mosquitto chart values of one local broker: paths under dir,
// loopback listeners, the bridge (when parentAddr is set) and queue limits.
type BrokerValues struct {
	Level        string
	Dir          string
	ClientPort   int
	BridgePort   int    // 0: no bridge listener (no child level)
	ParentAddr   string // "": no bridge upward (top level)
	MaxQueued    int64
	MaxQueuedB   int64
	AutosaveSecs int
	ACL          []any // the chart's default ACL plus the monitor user
}

func (v BrokerValues) values() map[string]any {
	dir := func(sub string) string { return filepath.Join(v.Dir, sub) }
	vals := map[string]any{
		"level": v.Level,
		"paths": map[string]any{
			"config":    dir("config"),
			"secrets":   dir("secrets"),
			"tls":       dir("tls"),
			"bridgeTLS": dir("bridge-tls"),
			"data":      dir("data") + "/",
		},
		"listeners": map[string]any{
			"internal": map[string]any{"port": v.ClientPort, "bindAddress": "127.0.0.1"},
			"bridge":   map[string]any{"enabled": v.BridgePort != 0, "port": max(v.BridgePort, 1), "bindAddress": "127.0.0.1"},
		},
		"queue": map[string]any{"maxQueuedMessages": v.MaxQueued, "maxQueuedBytes": v.MaxQueuedB},
		"bridge": map[string]any{
			"enabled":        v.ParentAddr != "",
			"address":        v.ParentAddr,
			"restartTimeout": "1 10",
			"keepalive":      10,
		},
		"persistence": map[string]any{"enabled": true, "autosaveInterval": max(v.AutosaveSecs, 1)},
	}
	if v.ACL != nil {
		vals["acl"] = v.ACL
	}
	return vals
}

// chartACL returns the mosquitto chart's default ACL with the monitor user added, and
// the password users it names (every user but the bridges, which authenticate with
// their client certificate).
func chartACL(chartDir string) ([]any, []string, error) {
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, nil, fmt.Errorf("mosquitto chart: %w", err)
	}
	var vals struct {
		ACL []any `json:"acl"`
	}
	if err := yaml.Unmarshal(b, &vals); err != nil {
		return nil, nil, fmt.Errorf("mosquitto chart values.yaml: %w", err)
	}
	users := []string{MonitorUser}
	hasPubSub := false
	for _, e := range vals.ACL {
		m, _ := e.(map[string]any)
		u, _ := m["user"].(string)
		if u != "" && !strings.HasPrefix(u, "bridge-") {
			users = append(users, u)
		}
		hasPubSub = hasPubSub || u == PubSubUser
	}
	if !hasPubSub {
		return nil, nil, fmt.Errorf("mosquitto chart values.yaml: acl has no entry for user %q, the Dapr sidecars' user", PubSubUser)
	}
	return append(vals.ACL, map[string]any{
		"user": MonitorUser,
		"rules": []any{
			map[string]any{"access": "read", "topic": "telemetry/#"},
			map[string]any{"access": "read", "topic": "$SYS/#"},
		},
	}), users, nil
}

// RenderBroker renders the mosquitto chart for v and writes mosquitto.conf and acl.conf
// (from the chart's ConfigMap, verbatim) and the password file into v.Dir.
func RenderBroker(ctx context.Context, chartDir string, v BrokerValues, passwords map[string]string) (BrokerFiles, error) {
	files, err := render.Render(ctx, chartDir, v.values())
	if err != nil {
		return BrokerFiles{}, fmt.Errorf("broker %s: %w", v.Level, err)
	}
	cm, ok := files["templates/configmap.yaml"]
	if !ok {
		return BrokerFiles{}, fmt.Errorf("broker %s: the mosquitto chart rendered no templates/configmap.yaml", v.Level)
	}
	var obj struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal([]byte(cm), &obj); err != nil {
		return BrokerFiles{}, fmt.Errorf("broker %s: rendered ConfigMap: %w", v.Level, err)
	}
	for _, k := range []string{"mosquitto.conf", "acl.conf"} {
		if obj.Data[k] == "" {
			return BrokerFiles{}, fmt.Errorf("broker %s: rendered ConfigMap has no data[%q]", v.Level, k)
		}
	}
	bf := BrokerFiles{
		Level:     v.Level,
		Dir:       v.Dir,
		ConfPath:  filepath.Join(v.Dir, "config", "mosquitto.conf"),
		ACLPath:   filepath.Join(v.Dir, "config", "acl.conf"),
		Passwords: passwords,
	}
	pw, err := PasswordFile(passwords)
	if err != nil {
		return BrokerFiles{}, fmt.Errorf("broker %s: %w", v.Level, err)
	}
	for _, d := range []string{"config", "secrets", "data"} {
		if err := os.MkdirAll(filepath.Join(v.Dir, d), 0o700); err != nil {
			return BrokerFiles{}, fmt.Errorf("broker %s: %w", v.Level, err)
		}
	}
	conf := obj.Data["mosquitto.conf"]
	if os.Geteuid() == 0 {
		// Started as root, mosquitto switches to the "mosquitto" user, which cannot read
		// the run directory's 0600 keys and passwords; a local run keeps its own user.
		conf += "\n# local topology started as root: do not switch user\nuser root\n"
	}
	for path, text := range map[string]string{
		bf.ConfPath: conf,
		bf.ACLPath:  obj.Data["acl.conf"],
		filepath.Join(v.Dir, "secrets", "passwd"): pw,
	} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return BrokerFiles{}, fmt.Errorf("broker %s: %w", v.Level, err)
		}
	}
	return bf, nil
}
