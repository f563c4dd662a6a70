// Package version is the build identity of every edgeframe binary — the edgeframe
// command, the workloads and the arcflux mixin — stamped at link time by `make build`,
// the image builder (build/imagebuild/gobuild) and the mixin's build scripts:
//
//	-ldflags "-X github.com/edgeframe/edgeframe/pkg/version.Version=v0.1.0 -X github.com/edgeframe/edgeframe/pkg/version.Commit=abc1234"
package version

var (
	// Version is the release (a "v" prefixed tag, or `git describe` output for
	// untagged builds); unstamped builds say v0.0.0-dev.
	Version = "v0.0.0-dev"
	// Commit is the git commit the binary was built from.
	Commit = "unknown"
)
