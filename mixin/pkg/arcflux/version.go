package arcflux

import (
	"encoding/json"
	"fmt"

	"github.com/edgeframe/edgeframe/pkg/version"
)

// Name is the mixin's name in porter.yaml.
const Name = "arcflux"

// Author is reported by `arcflux version`.
const Author = "edgeframe"

// Metadata is porter's pkgmgmt.Metadata.
type Metadata struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Author  string `json:"author"`
}

// PrintVersion prints the version as "json" or "plaintext".
func (m *Mixin) PrintVersion(format string) error {
	md := Metadata{Name: Name, Version: version.Version, Commit: version.Commit, Author: Author}
	switch format {
	case "json":
		b, err := json.MarshalIndent(md, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(m.Out, "%s\n", b)
		return err
	case "plaintext", "":
		_, err := fmt.Fprintf(m.Out, "%s %s (%s) by %s\n", md.Name, md.Version, md.Commit, md.Author)
		return err
	default:
		return fmt.Errorf("--output %q: want json or plaintext", format)
	}
}
