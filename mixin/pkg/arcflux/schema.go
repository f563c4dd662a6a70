package arcflux

import (
	_ "embed"
	"fmt"
)

//go:embed schema/schema.json
var schemaJSON []byte

// Schema returns the mixin's draft-07 JSON schema (porter merges it under mixin.arcflux).
func Schema() []byte { return append([]byte(nil), schemaJSON...) }

// PrintSchema prints the embedded schema verbatim.
func (m *Mixin) PrintSchema() error {
	_, err := fmt.Fprint(m.Out, string(schemaJSON))
	return err
}
