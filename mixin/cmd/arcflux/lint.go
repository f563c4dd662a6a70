package main

import (
	"github.com/spf13/cobra"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
)

func buildLintCommand(m *arcflux.Mixin) *cobra.Command {
	return &cobra.Command{
		Use:   "lint",
		Short: "Check the steps and print porter lint results as JSON (reads porter's build input on stdin)",
		RunE:  func(*cobra.Command, []string) error { return m.PrintLint() },
	}
}
