package arcflux

import "context"

// Install runs the one install step porter sent (from file, or stdin when file is ""): it creates or updates what the step describes (connect: onboard to Azure Arc; flux: the extension and the Flux configuration). status is not allowed here.
func (m *Mixin) Install(ctx context.Context, file string) error {
	return m.Execute(ctx, ExecuteOptions{Action: "install", File: file})
}
