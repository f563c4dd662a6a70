package arcflux

import "context"

// Upgrade runs the one upgrade step porter sent (from file, or stdin when file is ""): it is install again: create or update (both are idempotent).
func (m *Mixin) Upgrade(ctx context.Context, file string) error {
	return m.Execute(ctx, ExecuteOptions{Action: "upgrade", File: file})
}
