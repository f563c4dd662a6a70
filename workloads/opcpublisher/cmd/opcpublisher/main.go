// Command opcpublisher is edgeframe's OPC UA publisher: it reads an OPC Publisher
// publishednodes.json, subscribes to the OPC UA servers it names and publishes the
// value changes as OPC UA PubSub JSON network messages (or Samples), one CloudEvent per
// message, through its Dapr sidecar. See the README's configuration reference.
package main

import (
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/app"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/config"
)

// gcPercent keeps the heap close to the live data: at 10,000 value changes/s the garbage
// per second is several times the live heap. GOGC in the environment overrides it.
const gcPercent = 25

func main() { workload.Main(config.AppID, app.Run, workload.GCPercent(gcPercent)) }
