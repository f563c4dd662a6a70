package topology

import (
	"context"

	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/edgeframe/edgeframe/internal/selfhosted"
	"github.com/edgeframe/edgeframe/internal/supervise"
)

// OPCNamespace is opcplc's namespace URI (OPC PLC compatible).
const OPCNamespace = "http://microsoft.com/Opc/OpcPlc/"

// OPCGroup is the DataSetWriterGroup of the topology's publishednodes.json: the OPC UA
// telemetry arrives on telemetry/opcua/<OPCGroup>.
const OPCGroup = "line1"

// TempSensorDevice is the tempsensor's device id: telemetry/tempsensor/<device>.
const TempSensorDevice = "sensor-1"

// interval turns a rate (msg/s) into a period, at least 1 ms.
func interval(rate float64) time.Duration {
	d := time.Duration(float64(time.Second) / rate)
	return max(d, time.Millisecond)
}

// opcIntervalMs is the OPC UA publishing (and opcplc change) interval for a message
// rate, at least 10 ms.
func opcIntervalMs(rate float64) int {
	return max(int(math.Round(interval(rate).Seconds()*1000)), 10)
}

func (t *Topology) appSpec(ctx context.Context, name string) (supervise.ProcSpec, error) {
	a := t.Apps[name]
	http := fmt.Sprintf("127.0.0.1:%d", a.HTTPPort)
	spec := supervise.ProcSpec{
		Name:  name,
		Path:  t.Cfg.Binaries[name],
		Dir:   filepath.Join(t.Cfg.RunDir, "apps", name),
		Ready: supervise.HTTPReady("http://" + http + "/healthz"),
	}
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return spec, err
	}
	level := "--level=" + a.Level
	switch name {
	case OPCPLC:
		spec.Args = []string{
			"--pn=" + strconv.Itoa(a.OPCPort), "--ph=127.0.0.1", "--ut", "--aa",
			"--wp=" + strconv.Itoa(a.HTTPPort), level,
			"--fn=" + strconv.Itoa(t.Cfg.OPCNodes), "--vfr=" + strconv.Itoa(opcIntervalMs(t.Cfg.OPCRate)),
			"--pki=" + filepath.Join(spec.Dir, "pki"),
		}
	case OPCPublisher:
		pf, err := t.writePublishedNodes(spec.Dir)
		if err != nil {
			return spec, err
		}
		spec.Args = []string{
			"--pf=" + pf, "--mm=PubSub", "--bs=1", level, // one network message per publishing interval
			"--dapr-grpc=" + t.Sidecars[name].GRPCAddr, "--pubsub=" + PubSubName,
			"--http=" + http, "--state-dir=" + filepath.Join(spec.Dir, "state"),
		}
	case TempSensor:
		spec.Args = []string{
			"--device-id=" + TempSensorDevice, level,
			"--rate=" + strconv.FormatFloat(t.Cfg.Rate, 'g', -1, 64), "--message-count=-1",
			"--dapr-grpc=" + t.Sidecars[name].GRPCAddr, "--pubsub=" + PubSubName,
			"--app-port=" + strconv.Itoa(a.AppPort), "--http=" + http,
			"--state-dir=" + filepath.Join(spec.Dir, "state"), // as the chart: ids never repeat after a restart
		}
	case DataGateway:
		cfg, err := t.writeGatewayConfig()
		if err != nil {
			return spec, err
		}
		spec.Args = []string{
			"--config=" + cfg, level, "--pubsub=" + PubSubName,
			"--app-port=" + strconv.Itoa(a.AppPort), "--http=" + http,
		}
		spec.Ready = supervise.HTTPReady("http://" + http + "/readyz")
	default:
		return spec, fmt.Errorf("topology: unknown workload %q", name)
	}
	// the container's environment in the profile (GOMEMLIMIT from its memory limit, the trace
	// sampler)
	env, err := selfhosted.WorkloadEnv(ctx, t.Cfg.ChartsDir, a.Level, name)
	if err != nil {
		return spec, err
	}
	spec.Env = env
	if t.Cfg.Profiling && (name == TempSensor || name == DataGateway) {
		spec.Args = append(spec.Args, "--pprof")
	}
	return spec, nil
}

// writePublishedNodes writes the publisher's publishednodes.json: opcplc's fast nodes
// (nsu= form, security None) in one writer group, published every 1/OPCRate seconds.
func (t *Topology) writePublishedNodes(dir string) (string, error) {
	ms := opcIntervalMs(t.Cfg.OPCRate)
	nodes := []map[string]any{
		{"Id": "nsu=" + OPCNamespace + ";s=StepUp", "OpcSamplingInterval": ms},
	}
	for i := 1; i <= t.Cfg.OPCNodes; i++ {
		nodes = append(nodes, map[string]any{"Id": fmt.Sprintf("nsu=%s;s=FastUInt%d", OPCNamespace, i), "OpcSamplingInterval": ms})
	}
	pn := []map[string]any{{
		"EndpointUrl":               fmt.Sprintf("opc.tcp://127.0.0.1:%d", t.Apps[OPCPLC].OPCPort),
		"UseSecurity":               false,
		"DataSetWriterGroup":        OPCGroup,
		"DataSetWriterId":           OPCGroup + "-fast",
		"DataSetPublishingInterval": ms,
		"OpcNodes":                  nodes,
	}}
	b, err := json.MarshalIndent(pn, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "publishednodes.json")
	return path, os.WriteFile(path, b, 0o644)
}

// writeGatewayConfig writes the datagateway's sinks YAML: the local file sink under
// SinkDir, the buffer under GatewayDir, and an Azure Blob sink when Azurite is given.
func (t *Topology) writeGatewayConfig() (string, error) {
	y := fmt.Sprintf(`dataDir: %q
pubsub: %s
topics: ["telemetry/#"]
buffer:
  dir: %q
  policy: reject
sinks:
  - name: local
    type: file
    file:
      dir: %q
`, t.GatewayDir, PubSubName, filepath.Join(t.GatewayDir, "buffer"), t.SinkDir)
	if cs := t.AzuriteConnectionString(); cs != "" {
		y += fmt.Sprintf(`  - name: azurite
    type: blob
    blob:
      connectionString: %q
      container: edgeframe
`, cs)
	}
	path := filepath.Join(t.GatewayDir, "datagateway.yaml")
	return path, os.WriteFile(path, []byte(y), 0o600)
}
