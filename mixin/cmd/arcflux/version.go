package main

import (
	"github.com/spf13/cobra"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
)

func buildVersionCommand(m *arcflux.Mixin) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the mixin version",
		RunE:  func(*cobra.Command, []string) error { return m.PrintVersion(format) },
	}
	cmd.Flags().StringVarP(&format, "output", "o", "plaintext", "output format: plaintext or json")
	return cmd
}
