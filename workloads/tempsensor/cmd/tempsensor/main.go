// Command tempsensor is the simulated temperature sensor: Azure IoT Edge's
// SimulatedTemperatureSensor publishing CloudEvents through its Dapr sidecar.
// See workloads/tempsensor/README.md for its configuration.
package main

import (
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/app"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/config"
)

// gcPercent keeps the heap near its live data (a few MiB): at 1,000 msg/s the garbage per
// second is many times the live heap, and with Go's default of 100 the resident memory spikes
// past 30 MiB (make soak). GOGC in the environment overrides it.
const gcPercent = 50

func main() { workload.Main(config.AppID, app.Run, workload.GCPercent(gcPercent)) }
