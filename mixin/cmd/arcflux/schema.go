package main

import (
	"github.com/spf13/cobra"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
)

func buildSchemaCommand(m *arcflux.Mixin) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON schema of the mixin's part of porter.yaml",
		RunE:  func(*cobra.Command, []string) error { return m.PrintSchema() },
	}
}
