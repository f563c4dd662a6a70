// Package version holds the arcflux build identity, set at link time with
// -ldflags "-X github.com/edgeframe/edgeframe/mixin/pkg/version.Version=v0.1.0 -X ...Commit=abc123".
package version

var (
	// Version is the semantic version of the mixin (a "v" prefixed tag).
	Version = "v0.0.0-dev"
	// Commit is the git commit the binary was built from.
	Commit = "unknown"
)
