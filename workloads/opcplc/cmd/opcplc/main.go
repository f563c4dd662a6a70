// Command opcplc is an OPC UA server simulating a PLC, compatible with Microsoft's OPC PLC.
package main

import (
	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/app"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/config"
)

func main() { workload.Main(config.AppID, app.Run) }
