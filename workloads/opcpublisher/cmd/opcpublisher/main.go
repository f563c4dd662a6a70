// Command opcpublisher is edgeframe's OPC UA publisher: it reads an OPC Publisher
// publishednodes.json, subscribes to the OPC UA servers it names and publishes the
// value changes as OPC UA PubSub JSON network messages (or Samples), one CloudEvent per
// message, through its Dapr sidecar. See the README's configuration reference.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/app"
)

// defaultGCPercent keeps the heap close to the live data: at 10,000 value changes/s the
// garbage per second is several times the live heap, and an edge device pays for peak
// memory more than for a few percent of CPU. GOGC in the environment overrides it.
const defaultGCPercent = 25

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "opcpublisher:", err)
		if errors.Is(err, app.ErrConfig) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
