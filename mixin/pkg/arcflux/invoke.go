package arcflux

import (
	"context"
	"errors"
)

// Invoke runs the one step of the custom action porter sent (porter invoke --action NAME):
// connect and flux create or update as on install; status reports Arc connectivity and Flux
// compliance.
func (m *Mixin) Invoke(ctx context.Context, action, file string) error {
	if action == "" {
		return errors.New("invoke: --action is required")
	}
	return m.Execute(ctx, ExecuteOptions{Action: action, File: file})
}
