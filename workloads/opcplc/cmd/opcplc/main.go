// Command opcplc is an OPC UA server simulating a PLC, compatible with Microsoft's OPC PLC.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/app"
)

func main() {
	opts, err := app.Parse(os.Args[1:], os.LookupEnv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "opcplc: invalid configuration:\n%v\n", err)
		os.Exit(2)
	}
	// gopcua's server prints its node set import through the standard logger; our own
	// logs are slog JSON on stdout.
	log.SetOutput(io.Discard)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, opts, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "opcplc: %v\n", err)
		os.Exit(1)
	}
}
