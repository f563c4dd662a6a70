// Command datagateway is the L4 gateway: a Dapr app subscribed to telemetry that stores
// every message durably and forwards it to Event Hubs (Kafka), Blob Storage and local files.
package main

import (
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/app"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/config"
)

// gcPercent keeps the heap close to the live data: the gateway's peak comes from
// short-lived per-message and per-batch allocations, not from what it keeps. GOGC in the
// environment overrides it.
const gcPercent = 25

func main() { workload.Main(config.AppID, app.Run, workload.GCPercent(gcPercent)) }
