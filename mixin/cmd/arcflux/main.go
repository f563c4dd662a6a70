// Command arcflux is the arcflux Porter mixin: Azure Arc onboarding and Flux
// configuration for Porter bundles, natively in Go (no az CLI, no helm CLI).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
)

func main() {
	// Porter sends SIGTERM on cancellation and SIGKILL 30 s later.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, arcflux.New(), os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, m *arcflux.Mixin, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(m.Err, "arcflux: panic: %v\n", r)
			code = 1
		}
	}()
	cmd := buildRootCommand(m)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(m.Err, "Error: %v\n", err)
		return 1
	}
	return 0
}

func buildRootCommand(m *arcflux.Mixin) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "arcflux",
		Short: "Porter mixin that onboards clusters to Azure Arc and configures Flux",
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			m.In = cmd.InOrStdin()
			m.Out = cmd.OutOrStdout()
			m.Err = cmd.ErrOrStderr()
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(m.In)
	cmd.SetOut(m.Out)
	cmd.SetErr(m.Err)
	// Porter never passes --debug; PORTER_DEBUG=true is the signal, so it is the flag's default.
	cmd.PersistentFlags().BoolVar(&m.Debug, "debug", m.Debug, "print debug information to stderr (default from PORTER_DEBUG)")
	cmd.AddCommand(
		buildVersionCommand(m),
		buildSchemaCommand(m),
		buildBuildCommand(m),
		buildLintCommand(m),
		buildInstallCommand(m),
		buildUpgradeCommand(m),
		buildUninstallCommand(m),
		buildInvokeCommand(m),
	)
	return cmd
}
