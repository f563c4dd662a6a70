package topology

// PubSubUser is the broker user of every Dapr sidecar's edge-pubsub component (the
// mosquitto chart's ACL grants it telemetry, control and dead-letter topics).
const PubSubUser = "edge-pubsub"

// MonitorUser is the broker user the topology's own taps log in as (the mosquitto chart's
// read-only monitoring user: telemetry/# and $SYS/#).
const MonitorUser = "edgeframe-monitor"
