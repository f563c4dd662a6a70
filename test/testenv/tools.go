// Package testenv runs the real components edgeframe's tests need — mosquitto, daprd,
// node-opcua, the Kubernetes API server — as child processes on loopback, waits until
// each is ready, dumps their logs when a test fails and stops them by PID in t.Cleanup.
//
// The components come from `make tools` (scripts/tools/*.sh), which installs them under
// $EDGEFRAME_TOOLS (default ~/.cache/edgeframe/tools) with a link per tool in bin/.
// A missing component skips the test with a message naming `make tools`, except under
// CI=true, where it fails: CI must never pass by skipping.
package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeframe/edgeframe/tools/toolcache"
)

// ToolsDir is the tool cache `make tools` fills.
func ToolsDir() string { return toolcache.Dir() }

// InCI reports whether the tests run under CI (CI=true), where a missing component fails.
func InCI() bool { return os.Getenv("CI") == "true" }

// LookTool returns the path of a tool: $EDGEFRAME_TOOLS/bin/<name> first, then PATH
// (and /usr/sbin for mosquitto from apt). It returns "" when it is nowhere.
func LookTool(name string) string { return toolcache.Look(name) }

// Tool returns the path of a tool installed by `make tools`, or skips the test (fails it
// under CI=true) saying how to install it.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p := LookTool(name); p != "" {
		return p
	}
	msg := "component " + name + " is not installed: run `make tools` (looked in " + filepath.Join(ToolsDir(), "bin") + " and PATH)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
