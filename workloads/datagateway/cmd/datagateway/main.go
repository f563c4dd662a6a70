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
	"syscall"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gateway"
)

func main() {
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
