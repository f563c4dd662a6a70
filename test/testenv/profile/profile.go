// Package profile starts the real components of testenv on the configuration a level's chart
// profile ships (charts/profiles/<level>, rendered by internal/selfhosted): a mosquitto with the
// profile's listeners, ACL and bridge, and the Dapr resources a sidecar gets in a cluster.
//
// It is a package of its own because rendering a chart links Helm and the Kubernetes client
// libraries: a test binary that imports only testenv stays small and links fast, which keeps
// `make test-short` (the fast lane) short. Import profile only where a test runs what
// clusters run.
package profile

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/selfhosted"
	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
)

// StartMosquitto starts a real mosquitto on the configuration level's chart profile ships:
// password listener and ACL, persistence, queue limits, the TLS bridge listener where the
// level has one, and a bridge to an unreachable parent below L4 (certificates and passwords
// generated per test). URL carries the sidecars' user (testenv.PubSubUser) and password
// (paho takes them from it; so does Daprd).
func StartMosquitto(t testing.TB, level string) *testenv.Mosquitto {
	t.Helper()
	bin := testenv.Tool(t, "mosquitto")
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := selfhosted.NewCA("edgeframe test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := selfhosted.BrokerSpec{Level: level, Dir: t.TempDir(), ClientPort: testenv.FreePort(t), CA: ca}
	if level != "l2" {
		s.BridgePort = testenv.FreePort(t)
	}
	if level != "l4" {
		s.ParentAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nothing listens: the bridge retries
	}
	bf, err := selfhosted.RenderBroker(context.Background(), filepath.Join(root, "charts"), s)
	if err != nil {
		t.Fatal(err)
	}
	pw, ok := bf.Passwords[testenv.PubSubUser]
	if !ok {
		t.Fatalf("profile: the %s profile's ACL has no user %s", level, testenv.PubSubUser)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", s.ClientPort)
	p := testenv.StartProcess(t, testenv.ProcSpec{
		Name:  "mosquitto-" + level,
		Path:  bin,
		Args:  []string{"-c", bf.ConfPath},
		Dir:   bf.Dir,
		Ready: supervise.DialReady(addr),
	})
	u := url.URL{Scheme: "tcp", Host: addr, User: url.UserPassword(testenv.PubSubUser, pw)}
	return &testenv.Mosquitto{Process: p, Port: s.ClientPort, Addr: addr, URL: u.String(), ConfPath: bf.ConfPath, Dir: bf.Dir}
}

// Daprd is a testenv.DaprdSpec for appID with the Dapr resources its level's chart profile
// installs (rendered for a self-hosted daprd): the pub/sub component, Resiliency and
// Configuration a cluster gets, on brokerURL (with the sidecars' credentials as its user
// information, as StartMosquitto's URL has them) and a loopback trace endpoint. Set AppPort
// and the rest on the result and pass it to testenv.StartDaprd.
func Daprd(t testing.TB, level, appID, brokerURL string) testenv.DaprdSpec {
	t.Helper()
	testkit.SkipShort(t, "daprd")
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatalf("profile: broker URL: %v", err)
	}
	pw, _ := u.User.Password()
	df, err := selfhosted.RenderDapr(context.Background(), filepath.Join(root, "charts"), selfhosted.DaprSpec{
		Level: level, AppID: appID, Broker: u.Host, User: u.User.Username(), Password: pw, Dir: t.TempDir(),
		OTLPEndpoint: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	charts := filepath.Join(root, "charts")
	return testenv.DaprdSpec{AppID: appID, ResourcesDir: df.ResourcesDir, ConfigPath: df.ConfigPath,
		// the flags and environment the cluster's injector gives this app's sidecar
		Command: func(p testenv.DaprdPorts) ([]string, []string, error) {
			sc, err := selfhosted.RenderSidecar(context.Background(), charts, selfhosted.SidecarSpec{
				Level: level, AppID: appID, HTTPPort: p.HTTP, GRPCPort: p.GRPC, InternalPort: p.Internal,
				MetricsPort: p.Metrics, AppPort: p.App,
				Files: selfhosted.DaprFiles{ResourcesDir: p.ResourcesDir, ConfigPath: p.ConfigPath},
			})
			return sc.Args, sc.Env, err
		}}
}
