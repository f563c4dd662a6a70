// Command opcplc is an OPC UA server simulating a PLC, compatible with Microsoft's OPC PLC.
package main

import (
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/app"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/config"
)

// gcPercent keeps the heap near its live data (namespace 0 and the simulated nodes): at
// 10,000 notifications/s the garbage per second is several times the live heap, and with Go's
// default of 100 the resident memory peaks at about 44 MiB (BenchmarkOPCPLCFastNodes). GOGC in
// the environment overrides it.
const gcPercent = 25

func main() { workload.Main(config.AppID, app.Run, workload.GCPercent(gcPercent)) }
