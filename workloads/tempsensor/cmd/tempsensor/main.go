// Command tempsensor is the simulated temperature sensor: Azure IoT Edge's
// SimulatedTemperatureSensor publishing CloudEvents through its Dapr sidecar.
// See workloads/tempsensor/README.md for its configuration.
package main

import (
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/app"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/config"
)

func main() { workload.Main(config.AppID, app.Run) }
