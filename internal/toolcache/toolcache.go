// Package toolcache finds the real components (mosquitto, daprd, Azurite…) that
// `make tools` (build/tools/*.sh) installs under $EDGEFRAME_TOOLS (default
// ~/.cache/edgeframe/tools) with a link per tool in bin/. The demo and the tests look
// them up the same way.
package toolcache

import (
	"os"
	"os/exec"
	"path/filepath"
)

// Dir is the tool cache `make tools` fills.
func Dir() string {
	if d := os.Getenv("EDGEFRAME_TOOLS"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "edgeframe", "tools")
}

// Look returns the path of a tool: $EDGEFRAME_TOOLS/bin/<name> first, then PATH
// (and /usr/sbin for mosquitto from apt). It returns "" when it is nowhere.
func Look(name string) string {
	p := filepath.Join(Dir(), "bin", name)
	if _, err := os.Stat(p); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}
