// Package dapr holds the Dapr resources the datagateway's sidecar needs, for the charts,
// the local topology and the tests.
package dapr

import _ "embed"

// Resiliency makes daprd retry a delivery to the gateway until the gateway has stored it
// (pubsub.mqtt3 does not retry on its own). Scoped to app id "datagateway".
//
//go:embed resiliency.yaml
var Resiliency string
