// Package version carries the build version stamped by the Makefile's -ldflags.
package version

// Version is set with -ldflags "-X github.com/edgeframe/edgeframe/pkg/version.Version=...".
var Version = "dev"
