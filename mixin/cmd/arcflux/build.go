package main

import (
	"github.com/spf13/cobra"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
)

func buildBuildCommand(m *arcflux.Mixin) *cobra.Command {
	return &cobra.Command{
		Use:   "build",
		Short: "Print the Dockerfile lines the runtime needs (reads porter's build input on stdin)",
		RunE:  func(*cobra.Command, []string) error { return m.Build() },
	}
}
