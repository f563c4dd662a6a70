package selfhosted

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// MosquittoChart is the chart of every level's broker.
const MosquittoChart = "mosquitto"

// BrokerSpec is what a local broker of one level changes in its profile's mosquitto release.
type BrokerSpec struct {
	Level string
	// Dir holds config/, secrets/, tls/, bridge-tls/ and data/.
	Dir        string
	ClientPort int
	// BridgePort is the TLS bridge listener's port; it must be set exactly when the profile
	// enables that listener (every level with a child level).
	BridgePort int
	// ParentAddr is the parent broker's bridge listener (host:port); it must be set exactly
	// when the profile enables the bridge upward.
	ParentAddr string
	// CA signs the bridge listener's server certificate (tls/) and the bridge's client
	// certificate (bridge-tls/, CN bridge-<level>), generated per run.
	CA *CA
}

// certValidity is how long a run's certificates are valid.
const certValidity = 7 * 24 * time.Hour

// LocalBrokerValues is the overlay of a local broker: loopback listeners on its ports, its
// directories, and its parent's address. Nothing else.
func LocalBrokerValues(s BrokerSpec) map[string]any {
	dir := func(sub string) string { return filepath.Join(s.Dir, sub) }
	vals := map[string]any{
		"paths": map[string]any{
			"config":    dir("config"),
			"secrets":   dir("secrets"),
			"tls":       dir("tls"),
			"bridgeTLS": dir("bridge-tls"),
			"data":      dir("data") + "/",
		},
		"listeners": map[string]any{
			"internal": map[string]any{"port": s.ClientPort, "bindAddress": "127.0.0.1"},
			"bridge":   map[string]any{"port": max(s.BridgePort, 1), "bindAddress": "127.0.0.1"},
		},
	}
	if s.ParentAddr != "" {
		vals["bridge"] = map[string]any{"address": s.ParentAddr}
	}
	return vals
}

// BrokerConfig is a broker's rendered mosquitto.conf and acl.conf.
type BrokerConfig struct {
	Conf, ACL string
	// Users are the password users the ACL names (every user but the bridges, "bridge-*",
	// which log in with their client certificate).
	Users []string
}

// RenderBrokerConfig renders the profile's mosquitto release of s.Level with the local overlay.
func RenderBrokerConfig(ctx context.Context, chartsDir string, s BrokerSpec) (BrokerConfig, error) {
	rel, err := LoadRelease(chartsDir, s.Level, MosquittoChart)
	if err != nil {
		return BrokerConfig{}, fmt.Errorf("broker %s: %w", s.Level, err)
	}
	files, err := rel.Render(ctx, chartsDir, LocalBrokerValues(s))
	if err != nil {
		return BrokerConfig{}, fmt.Errorf("broker %s: %w", s.Level, err)
	}
	data, err := ConfigMapData(files, "templates/configmap.yaml", "mosquitto.conf", "acl.conf")
	if err != nil {
		return BrokerConfig{}, fmt.Errorf("broker %s: %w", s.Level, err)
	}
	bc := BrokerConfig{Conf: data["mosquitto.conf"], ACL: data["acl.conf"]}
	var errs []error
	if listener := strings.Contains(bc.Conf, "require_certificate true"); listener != (s.BridgePort != 0) {
		errs = append(errs, fmt.Errorf("broker %s: the profile's bridge listener enabled %v, BridgePort %d", s.Level, listener, s.BridgePort))
	}
	if up := strings.Contains(bc.Conf, "\nconnection "); up != (s.ParentAddr != "") {
		errs = append(errs, fmt.Errorf("broker %s: profile bridge upward %v, ParentAddr %q", s.Level, up, s.ParentAddr))
	}
	sc := bufio.NewScanner(strings.NewReader(bc.ACL))
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "user "); ok && !strings.HasPrefix(u, "bridge-") {
			bc.Users = append(bc.Users, u)
		}
	}
	if len(bc.Users) == 0 {
		errs = append(errs, fmt.Errorf("broker %s: the rendered acl.conf names no password user", s.Level))
	}
	return bc, errors.Join(errs...)
}

// ConfigMapData reads keys of the ConfigMap rendered as file; each must be non-empty.
func ConfigMapData(files map[string]string, file string, keys ...string) (map[string]string, error) {
	cm, ok := files[file]
	if !ok {
		return nil, fmt.Errorf("the chart rendered no %s", file)
	}
	var obj struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal([]byte(cm), &obj); err != nil {
		return nil, fmt.Errorf("rendered %s: %w", file, err)
	}
	for _, k := range keys {
		if obj.Data[k] == "" {
			return nil, fmt.Errorf("rendered %s has no data[%q]", file, k)
		}
	}
	return obj.Data, nil
}

// BrokerFiles is what a level's broker has on disk, all under Dir.
type BrokerFiles struct {
	Level    string
	Dir      string
	ConfPath string // Dir/config/mosquitto.conf
	ACLPath  string // Dir/config/acl.conf
	// Passwords of the ACL's password users, generated per run (user → password).
	Passwords map[string]string
}

// RenderBroker renders s's broker configuration and writes mosquitto.conf, acl.conf and a
// password file with a generated password for every password user of the ACL.
func RenderBroker(ctx context.Context, chartsDir string, s BrokerSpec) (BrokerFiles, error) {
	bc, err := RenderBrokerConfig(ctx, chartsDir, s)
	if err != nil {
		return BrokerFiles{}, err
	}
	bf := BrokerFiles{
		Level:     s.Level,
		Dir:       s.Dir,
		ConfPath:  filepath.Join(s.Dir, "config", "mosquitto.conf"),
		ACLPath:   filepath.Join(s.Dir, "config", "acl.conf"),
		Passwords: map[string]string{},
	}
	for _, u := range bc.Users {
		bf.Passwords[u] = RandomSecret()
	}
	pw, err := PasswordFile(bf.Passwords)
	if err != nil {
		return BrokerFiles{}, fmt.Errorf("broker %s: %w", s.Level, err)
	}
	for _, d := range []string{"config", "secrets", "data"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o700); err != nil {
			return BrokerFiles{}, fmt.Errorf("broker %s: %w", s.Level, err)
		}
	}
	conf := bc.Conf
	if os.Geteuid() == 0 {
		// Started as root, mosquitto switches to the "mosquitto" user, which cannot read the
		// run directory's 0600 keys and passwords; a local run keeps its own user (in a
		// cluster the pod's securityContext sets the user).
		conf += "\n# local broker started as root: do not switch user\nuser root\n"
	}
	for path, text := range map[string]string{
		bf.ConfPath: conf,
		bf.ACLPath:  bc.ACL,
		filepath.Join(s.Dir, "secrets", "passwd"): pw,
	} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return BrokerFiles{}, fmt.Errorf("broker %s: %w", s.Level, err)
		}
	}
	if err := s.writeCerts(); err != nil {
		return BrokerFiles{}, fmt.Errorf("broker %s: %w", s.Level, err)
	}
	return bf, nil
}

// writeCerts issues the bridge listener's server certificate and the bridge's client
// certificate the rendered configuration names.
func (s BrokerSpec) writeCerts() error {
	if s.BridgePort == 0 && s.ParentAddr == "" {
		return nil
	}
	if s.CA == nil {
		return errors.New("the profile has TLS bridges: BrokerSpec.CA is required")
	}
	if s.BridgePort != 0 {
		kp, err := s.CA.Server("mosquitto-"+s.Level, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, certValidity)
		if err != nil {
			return err
		}
		if err := s.CA.WriteTLSDir(filepath.Join(s.Dir, "tls"), kp); err != nil {
			return err
		}
	}
	if s.ParentAddr != "" {
		kp, err := s.CA.Client("bridge-"+s.Level, certValidity)
		if err != nil {
			return err
		}
		if err := s.CA.WriteTLSDir(filepath.Join(s.Dir, "bridge-tls"), kp); err != nil {
			return err
		}
	}
	return nil
}
