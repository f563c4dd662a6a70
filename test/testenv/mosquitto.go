package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/supervise"
)

// MosquittoSpec configures a broker.
type MosquittoSpec struct {
	// Port of the default listener; 0 picks a free one.
	Port int
	// Config, when set, is the complete mosquitto.conf (the caller writes its own
	// listeners, using Port). Otherwise the default is one anonymous listener on
	// 127.0.0.1:Port without persistence, followed by Extra.
	Config string
	// Extra lines appended to the default config.
	Extra string
	// Name for logs (default "mosquitto").
	Name string
}

// Mosquitto is a running broker.
type Mosquitto struct {
	*Process
	Port     int
	Addr     string // 127.0.0.1:port
	URL      string // tcp://127.0.0.1:port (tcp://user:password@127.0.0.1:port for a profile broker)
	ConfPath string
	Dir      string // working directory: relative paths in the config resolve here
}

// StartMosquitto starts a real mosquitto (from `make tools`) and waits until its
// listener accepts connections.
func StartMosquitto(t testing.TB, spec MosquittoSpec) *Mosquitto {
	t.Helper()
	bin := Tool(t, "mosquitto")
	if spec.Port == 0 {
		spec.Port = FreePort(t)
	}
	if spec.Name == "" {
		spec.Name = "mosquitto"
	}
	dir := t.TempDir()
	conf := spec.Config
	if conf == "" {
		conf = DefaultMosquittoConfig(spec.Port) + spec.Extra + "\n"
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", spec.Port)
	p := StartProcess(t, ProcSpec{
		Name:  spec.Name,
		Path:  bin,
		Args:  []string{"-c", path},
		Dir:   dir,
		Ready: supervise.DialReady(addr),
	})
	return &Mosquitto{Process: p, Port: spec.Port, Addr: addr, URL: "tcp://" + addr, ConfPath: path, Dir: dir}
}

// DefaultMosquittoConfig is an anonymous loopback listener without persistence.
func DefaultMosquittoConfig(port int) string {
	return strings.Join([]string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"persistence false",
		"log_dest stdout",
		"log_type error",
		"log_type warning",
		"log_type notice",
		"",
	}, "\n")
}

// PubSubUser is the broker user of the Dapr sidecars (the mosquitto chart's ACL); a
// profile.StartMosquitto URL carries it.
const PubSubUser = "edge-pubsub"
