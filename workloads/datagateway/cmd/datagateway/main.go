// Command datagateway is the L4 gateway: a Dapr app subscribed to telemetry that stores
// every message durably and forwards it to Event Hubs (Kafka), Blob Storage and local files.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gateway"
)

// defaultGCPercent keeps the heap close to the live data: the gateway's peak comes from
// short-lived per-message and per-batch allocations, not from what it keeps (GOGC wins).
const defaultGCPercent = 25

func main() {
	if v, set := os.LookupEnv("GOGC"); !set || v == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	s, err := gateway.Parse(os.Args[1:], os.LookupEnv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "datagateway: invalid configuration:\n%v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := gateway.Run(ctx, s, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "datagateway: %v\n", err)
		os.Exit(1)
	}
}
