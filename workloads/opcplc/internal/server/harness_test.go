package server_test

import (
	"context"
	"crypto/rsa"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/edgeframe/edgeframe/pkg/uapki"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/server"
)

// harness is a real opcplc server on a loopback port with a real-time simulation.
type harness struct {
	srv      *server.Server
	sim      *plc.Simulator
	reg      *prometheus.Registry
	cfg      server.Config
	endpoint string
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("OPCPLC_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

func start(t testing.TB, mutate func(*server.Config, *plc.Config)) *harness {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Host, cfg.Listen, cfg.Port, cfg.PKIDir = "127.0.0.1", "127.0.0.1", testenv.FreePort(t), t.TempDir()
	simCfg := plc.DefaultConfig()
	if mutate != nil {
		mutate(&cfg, &simCfg)
	}
	sim, err := plc.New(simCfg, plc.RealClock{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv, err := server.New(cfg, sim, testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = sim.Run(ctx) }()
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(); cancel() })
	return &harness{srv: srv, sim: sim, reg: reg, cfg: cfg, endpoint: srv.Endpoint()}
}

// gauge reads a metric from the server's registry (0 when absent).
func (h *harness) metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += value(m)
		}
	}
	return sum
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

// clientIdentity is a self-signed client application certificate.
type clientIdentity struct {
	der []byte
	key *rsa.PrivateKey
}

func newClientIdentity(t *testing.T) clientIdentity {
	t.Helper()
	id, err := uapki.NewIdentity(uapki.Application{Name: "opcplc-test-client", URI: "urn:edgeframe:opcplc-test-client", Hosts: []string{"localhost"}}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return clientIdentity{der: id.CertDER, key: id.Key}
}

// login is how a test client authenticates.
type login struct {
	user, pass string // empty user = anonymous
}

func (l login) tokenType() ua.UserTokenType {
	if l.user == "" {
		return ua.UserTokenTypeAnonymous
	}
	return ua.UserTokenTypeUserName
}

// dial connects a gopcua client with the given security mode (Basic256Sha256 unless None).
func dial(t *testing.T, h *harness, mode ua.MessageSecurityMode, who login, id *clientIdentity, extra ...opcua.Option) (*opcua.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	eps, err := opcua.GetEndpoints(ctx, h.endpoint)
	if err != nil {
		t.Fatalf("GetEndpoints: %v", err)
	}
	var ep *ua.EndpointDescription
	for _, e := range eps {
		if e.SecurityMode == mode {
			ep = e
		}
	}
	if ep == nil {
		t.Fatalf("server offers no endpoint with mode %s", mode)
	}
	opts := []opcua.Option{opcua.SecurityFromEndpoint(ep, who.tokenType()), opcua.AutoReconnect(false), opcua.RequestTimeout(5 * time.Second)}
	if id != nil {
		opts = append(opts, opcua.Certificate(id.der), opcua.PrivateKey(id.key), opcua.ApplicationURI("urn:edgeframe:opcplc-test-client"))
	}
	if who.user != "" {
		opts = append(opts, opcua.AuthUsername(who.user, who.pass))
	} else {
		opts = append(opts, opcua.AuthAnonymous())
	}
	opts = append(opts, extra...)
	c, err := opcua.NewClient(ep.EndpointURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		_ = c.Close(context.Background())
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, nil
}

func mustDial(t *testing.T, h *harness, mode ua.MessageSecurityMode, who login, id *clientIdentity, extra ...opcua.Option) *opcua.Client {
	t.Helper()
	c, err := dial(t, h, mode, who, id, extra...)
	if err != nil {
		t.Fatalf("connect %s as %q: %v", mode, who.user, err)
	}
	return c
}

// plcNode resolves nsu=http://microsoft.com/Opc/OpcPlc/;s=<name> through the server's namespace array.
func plcNode(t *testing.T, c *opcua.Client, name string) *ua.NodeID {
	t.Helper()
	id, err := ua.ParseExpandedNodeID("nsu="+plc.Namespace+";s="+name, c.Namespaces())
	if err != nil {
		t.Fatalf("resolve %s: %v (namespaces %v)", name, err, c.Namespaces())
	}
	return id.NodeID
}
