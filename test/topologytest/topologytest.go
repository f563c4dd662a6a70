// Package topologytest starts the local topology (internal/topology) inside tests:
// workloads built from source, tools from `make tools` (skipping when missing), the
// topology closed in t.Cleanup with every process log's tail printed on failure.
package topologytest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/edgeframe/edgeframe/internal/topology"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// TestConfig is a topology.Config for tests: free ports, RunDir in t.TempDir(), the charts of
// this repository, mosquitto and daprd from `make tools` (skipping, or failing under
// CI=true, when missing) and, unless brokersOnly, every workload built from source.
func TestConfig(t testing.TB, brokersOnly bool) topology.Config {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg := topology.Config{
		Rate:        20,
		OPCRate:     2,
		OPCNodes:    5,
		RunDir:      t.TempDir(),
		ChartsDir:   filepath.Join(root, "charts"),
		Mosquitto:   testenv.Tool(t, "mosquitto"),
		BrokersOnly: brokersOnly,
		Binaries:    map[string]string{},
	}
	if !brokersOnly {
		cfg.Daprd = testenv.Tool(t, "daprd")
		for _, w := range cfg.Workloads() {
			cfg.Binaries[w] = testenv.BuildWorkload(t, w)
		}
	}
	return cfg
}

// StartT plans and starts a topology for a test and closes it in t.Cleanup, printing
// the tail of every process log when the test failed.
func StartT(t testing.TB, cfg topology.Config) *topology.Topology {
	topo, _ := start(t, cfg, false)
	return topo
}

// StartMonitoredT is StartT with a Monitor whose taps connect after the brokers and
// before the workloads start, so the L2 tap sees every message produced.
func StartMonitoredT(t testing.TB, cfg topology.Config) (*topology.Topology, *topology.Monitor) {
	return start(t, cfg, true)
}

func start(t testing.TB, cfg topology.Config, monitor bool) (*topology.Topology, *topology.Monitor) {
	t.Helper()
	ctx := context.Background()
	topo, err := topology.Plan(ctx, cfg)
	if err != nil {
		t.Fatalf("topology: %v", err)
	}
	t.Cleanup(func() {
		topo.Close()
		if t.Failed() {
			for _, p := range topo.Sup.Processes() {
				t.Logf("----- tail of %s (%s) -----\n%s", p.Spec.Name, p.LogPath, tail(p.Log(), 6<<10))
			}
		}
	})
	if err := topo.StartBrokers(ctx); err != nil {
		t.Fatalf("topology: %v", err)
	}
	var mon *topology.Monitor
	if monitor {
		if mon, err = topo.NewMonitor(); err != nil {
			t.Fatalf("topology: %v", err)
		}
		t.Cleanup(mon.Close)
	}
	if err := topo.StartWorkloads(ctx); err != nil {
		t.Fatalf("topology: %v", err)
	}
	return topo, mon
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
