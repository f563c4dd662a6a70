package main

import (
	"github.com/spf13/cobra"

	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
)

func buildInvokeCommand(m *arcflux.Mixin) *cobra.Command {
	var file, action string
	cmd := &cobra.Command{
		Use:   "invoke",
		Short: "Run one step of a custom action (porter invoke --action NAME)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.Invoke(cmd.Context(), action, file)
		},
	}
	cmd.Flags().StringVar(&action, "action", "", "name of the custom action")
	_ = cmd.MarkFlagRequired("action")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the step from this file instead of stdin")
	return cmd
}
