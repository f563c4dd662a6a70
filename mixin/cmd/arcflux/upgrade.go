package main

import (
	"github.com/spf13/cobra"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
)

func buildUpgradeCommand(m *arcflux.Mixin) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Run one upgrade step (read from stdin, templates resolved)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.Upgrade(cmd.Context(), file)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the step from this file instead of stdin")
	return cmd
}
