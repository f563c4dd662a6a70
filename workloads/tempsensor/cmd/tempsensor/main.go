// Command tempsensor is the simulated temperature sensor: Azure IoT Edge's
// SimulatedTemperatureSensor publishing CloudEvents through its Dapr sidecar.
// See workloads/tempsensor/README.md for its configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tempsensor:", err)
		if errors.Is(err, app.ErrConfig) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
