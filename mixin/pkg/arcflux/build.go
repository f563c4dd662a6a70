package arcflux

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// Config is the mixin's build configuration (mixins: - arcflux: {...}; schema: definitions.config).
type Config struct {
	// CACertificates are PEM files in the bundle directory added to the image's
	// trust store (e.g. the CA of a TLS-inspecting proxy in front of a level).
	CACertificates []string `json:"caCertificates,omitempty"`
}

// checkConfig checks the build configuration against the schema, then that every file
// is inside the bundle directory (the Dockerfile COPYs it from there).
func checkConfig(raw json.RawMessage) (Config, []Problem) {
	var c Config
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return c, []Problem{{Code: CodeInvalid, Field: "config", Message: err.Error()}}
	}
	ps := validate(defConfig, inst, false, "config")
	if json.Unmarshal(raw, &c) != nil {
		return c, sortProblems(ps)
	}
	for i, f := range c.CACertificates {
		if clean := path.Clean(f); f != "" && (path.IsAbs(f) || clean == ".." || strings.HasPrefix(clean, "../")) {
			ps = append(ps, Problem{Code: CodeInvalid, Field: fmt.Sprintf("config.caCertificates[%d]", i), Message: fmt.Sprintf("%q must be a path inside the bundle directory", f)})
		}
	}
	return c, sortProblems(ps)
}

// buildInput is what porter sends to build and lint: the mixin's configuration and the
// steps of every action, templates unresolved.
type buildInput struct {
	Config  json.RawMessage `json:"config"`
	Actions Actions         `json:"actions"`
}

func readBuildInput(r io.Reader) (buildInput, error) {
	var in buildInput
	data, err := io.ReadAll(r)
	if err != nil {
		return in, fmt.Errorf("read stdin: %w", err)
	}
	if err := yaml.Unmarshal(data, &in); err != nil {
		return in, fmt.Errorf("build input YAML: %w", cleanJSONError(err))
	}
	return in, nil
}

// Build prints the Dockerfile lines the runtime needs: CA certificates for
// TLS to Azure and registries (the Helm SDK runs in-process, no CLI to install),
// plus any extra CA certificates from the config. Invalid steps fail the build,
// every problem at once.
func (m *Mixin) Build() error {
	in, err := readBuildInput(m.In)
	if err != nil {
		return err
	}
	cfg, ps := checkConfig(in.Config)
	if ps = errorsOnly(ps); len(ps) > 0 {
		return &StepError{Description: "the arcflux mixin configuration", Problems: ps}
	}
	var errs []error
	for _, action := range in.Actions.Names() {
		for i, e := range in.Actions[action] {
			s, ps := checkStep(e, action, false, nil)
			if ps = errorsOnly(ps); len(ps) > 0 {
				errs = append(errs, &StepError{Action: action, Number: i + 1, Description: s.Description, Problems: ps})
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# arcflux: CA certificates for Azure Resource Manager, the Arc data plane and OCI registries\n")
	b.WriteString("RUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt \\\n")
	b.WriteString("    apt-get update && apt-get install -y --no-install-recommends ca-certificates\n")
	for i, f := range cfg.CACertificates {
		fmt.Fprintf(&b, "COPY %s /usr/local/share/ca-certificates/arcflux-%d.crt\n", path.Clean(f), i)
	}
	if len(cfg.CACertificates) > 0 {
		b.WriteString("RUN update-ca-certificates\n")
	}
	_, err = io.WriteString(m.Out, b.String())
	return err
}
