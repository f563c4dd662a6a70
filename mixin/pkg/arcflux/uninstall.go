package arcflux

import "context"

// Uninstall runs the one uninstall step porter sent (from file, or stdin when file is ""): it deletes what the step describes (connect: disconnect from Azure Arc; flux: the Flux configuration, and the extension with extension.delete); what is already gone counts as deleted.
func (m *Mixin) Uninstall(ctx context.Context, file string) error {
	return m.Execute(ctx, ExecuteOptions{Action: "uninstall", File: file})
}
