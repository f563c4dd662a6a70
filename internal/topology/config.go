// Package topology runs edgeframe's whole data path on one machine: three mosquitto
// brokers (L2, L3, L4) bridged upward over mutually authenticated TLS, a daprd sidecar
// per workload, and the real workloads — opcplc, opcpublisher and tempsensor at L2, the
// datagateway at L4 writing to the local file sink. Broker configurations and Dapr
// resources are rendered from the Helm charts, so the topology runs the configuration
// edgeframe ships. The demo command (`edgeframe demo`, cmd/edgeframe), the end-to-end and chaos suite
// (test/e2e) and the throughput benchmark (test/bench) all start it through Start.
package topology

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Levels in bridge order: L2 bridges to L3, L3 to L4.
var Levels = []string{"l2", "l3", "l4"}

// Workload names (and Dapr app ids).
const (
	OPCPLC       = "opcplc"
	OPCPublisher = "opcpublisher"
	TempSensor   = "tempsensor"
	DataGateway  = "datagateway"
)

// Config describes one topology.
type Config struct {
	// Rate is the producer load in messages per second: the tempsensor publishes Rate
	// messages/s, the OPC UA path publishes OPCRate messages/s on top.
	Rate float64
	// OPCRate is the opcpublisher's message rate (one network message per publishing
	// interval); 0 disables the OPC UA pair.
	OPCRate float64
	// OPCNodes is the number of fast nodes opcplc simulates and the publisher samples.
	OPCNodes int
	// RunDir holds everything of this run: pki/, brokers/, dapr/, gateway/, sink/, logs/.
	RunDir string
	// ChartsDir is the repository's charts/ directory.
	ChartsDir string
	// Binaries maps each workload name to its executable.
	Binaries map[string]string
	// Mosquitto and Daprd are the executables of the real components.
	Mosquitto string
	Daprd     string
	// BasePort, when set, numbers every listener from BasePort upward (the demo's fixed,
	// printable ports); 0 takes free ports.
	BasePort int
	// BrokersOnly runs the three bridged brokers and nothing else (the raw benchmark).
	BrokersOnly bool
	// DirectBridges connects each bridge straight to its parent's bridge listener,
	// without the link proxy that lets tests cut it (Links stays empty). The benchmarks
	// use it: the proxy runs in the harness process and costs CPU the path needs.
	DirectBridges bool
	// NoTempSensor leaves the tempsensor out (an OPC UA-only topology).
	NoTempSensor bool
	// Azurite, when set, is the azurite-blob executable: the topology starts a local
	// Azure Blob emulator and adds a blob sink to the gateway.
	Azurite string
	// Profiling serves Go's profiler from every sidecar (--enable-profiling on ProfilePort)
	// and from the tempsensor and the gateway (--pprof on their HTTP port): the benchmarks'
	// profiles.
	Profiling bool
	// ReadyTimeout bounds each process's readiness wait (default 60 s).
	ReadyTimeout time.Duration
}

// withDefaults fills unset optional fields.
func (c Config) withDefaults() Config {
	if c.OPCNodes == 0 {
		c.OPCNodes = 10
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 60 * time.Second
	}
	return c
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if math.IsNaN(c.Rate) || c.Rate <= 0 || c.Rate > 100000 {
		errs = append(errs, fmt.Errorf("rate: %v msg/s is outside (0, 100000]", c.Rate))
	}
	if math.IsNaN(c.OPCRate) || c.OPCRate < 0 || c.OPCRate > 1000 {
		errs = append(errs, fmt.Errorf("opc rate: %v msg/s is outside [0, 1000]", c.OPCRate))
	}
	if c.OPCNodes < 0 || c.OPCNodes > 10000 {
		errs = append(errs, fmt.Errorf("opc nodes: %d is outside [0, 10000]", c.OPCNodes))
	}
	if c.RunDir == "" {
		errs = append(errs, errors.New("run dir: empty"))
	}
	if c.ChartsDir == "" {
		errs = append(errs, errors.New("charts dir: empty"))
	}
	if c.Mosquitto == "" {
		errs = append(errs, errors.New("mosquitto: not installed: run `make tools` (apt package mosquitto)"))
	}
	if c.Daprd == "" && !c.BrokersOnly {
		errs = append(errs, errors.New("daprd: not built: run `make tools` (builds daprd v1.18.0, about 10 minutes cold)"))
	}
	for _, w := range c.Workloads() {
		if c.Binaries[w] == "" {
			errs = append(errs, fmt.Errorf("workload %s: binary not built: run `make build`", w))
		}
	}
	if c.BasePort != 0 && (c.BasePort < 1024 || c.BasePort > 65000) {
		errs = append(errs, fmt.Errorf("base port: %d is outside [1024, 65000]", c.BasePort))
	}
	return errors.Join(errs...)
}

// Workloads lists the workloads this configuration runs, in start order.
func (c Config) Workloads() []string {
	if c.BrokersOnly {
		return nil
	}
	var ws []string
	if c.OPCRate > 0 {
		ws = append(ws, OPCPLC, OPCPublisher)
	}
	if !c.NoTempSensor {
		ws = append(ws, TempSensor)
	}
	return append(ws, DataGateway)
}
