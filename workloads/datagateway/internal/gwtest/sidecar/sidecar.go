// Package sidecar starts the datagateway's real daprd for tests. It is apart from gwtest
// because the profile it renders links Helm: the buffer, deliver and ingest tests, which
// use only gwtest's stores, keep a small test binary (`make test-short`).
package sidecar

import (
	"testing"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
)

// Start starts a real daprd for app "datagateway" on appPort with the Dapr resources the
// L4 profile installs (pub/sub "edge-pubsub" on brokerURL, Resiliency, Configuration).
func Start(t testing.TB, brokerURL string, appPort int) *testenv.Daprd {
	t.Helper()
	spec := profile.Daprd(t, "l4", "datagateway", brokerURL)
	spec.AppPort = appPort
	return testenv.StartDaprd(t, spec)
}
