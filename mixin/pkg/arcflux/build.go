package arcflux

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"sigs.k8s.io/yaml"
)

// Config is the mixin's build configuration (mixins: - arcflux: {...}).
type Config struct {
	// CACertificates are PEM files in the bundle directory added to the image's
	// trust store (e.g. the CA of a TLS-inspecting proxy in front of a level).
	CACertificates []string `json:"caCertificates,omitempty"`
}

// Validate reports every problem of the build configuration.
func (c Config) Validate() []Problem {
	var ps []Problem
	for i, f := range c.CACertificates {
		field := fmt.Sprintf("config.caCertificates[%d]", i)
		clean := path.Clean(f)
		switch {
		case strings.TrimSpace(f) == "":
			ps = append(ps, Problem{Code: CodeInvalid, Field: field, Message: "is empty"})
		case path.IsAbs(f) || clean == ".." || strings.HasPrefix(clean, "../"):
			ps = append(ps, Problem{Code: CodeInvalid, Field: field, Message: fmt.Sprintf("%q must be a path inside the bundle directory", f)})
		case strings.ContainsAny(f, " \t\n\"'$"):
			ps = append(ps, Problem{Code: CodeInvalid, Field: field, Message: fmt.Sprintf("%q must not contain spaces, quotes or $", f)})
		}
	}
	return ps
}

// BuildInput is what porter sends to build and lint.
type BuildInput struct {
	Config  Config
	Actions Actions
}

func readBuildInput(r io.Reader) (BuildInput, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return BuildInput{}, fmt.Errorf("read stdin: %w", err)
	}
	var raw struct {
		Config  json.RawMessage `json:"config"`
		Actions json.RawMessage `json:"actions"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return BuildInput{}, fmt.Errorf("build input YAML: %w", err)
	}
	var in BuildInput
	if len(raw.Config) > 0 && string(raw.Config) != "null" {
		if err := decodeStrict(raw.Config, &in.Config); err != nil {
			return in, fmt.Errorf("mixin config: %w", cleanJSONError(err))
		}
	}
	in.Actions = Actions{}
	if len(raw.Actions) > 0 && string(raw.Actions) != "null" {
		if in.Actions, err = parseActions(raw.Actions); err != nil {
			return in, err
		}
	}
	return in, nil
}

// Build prints the Dockerfile lines the runtime needs: CA certificates for
// TLS to Azure and registries (the Helm SDK runs in-process, no CLI to install),
// plus any extra CA certificates from the config.
func (m *Mixin) Build() error {
	in, err := readBuildInput(m.In)
	if err != nil {
		return err
	}
	if ps := in.Config.Validate(); len(ps) > 0 {
		return &StepError{Description: "the arcflux mixin configuration", Problems: ps}
	}
	if err := in.Actions.Validate(); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# arcflux: CA certificates for Azure Resource Manager, the Arc data plane and OCI registries\n")
	b.WriteString("RUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt \\\n")
	b.WriteString("    apt-get update && apt-get install -y --no-install-recommends ca-certificates\n")
	for i, f := range in.Config.CACertificates {
		fmt.Fprintf(&b, "COPY %s /usr/local/share/ca-certificates/arcflux-%d.crt\n", path.Clean(f), i)
	}
	if len(in.Config.CACertificates) > 0 {
		b.WriteString("RUN update-ca-certificates\n")
	}
	_, err = io.WriteString(m.Out, b.String())
	return err
}
