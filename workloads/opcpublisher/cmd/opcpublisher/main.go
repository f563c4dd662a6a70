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
	"syscall"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/app"
)

func main() {
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
