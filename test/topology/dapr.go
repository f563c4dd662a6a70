package topology

// PubSubName is the Dapr pub/sub component every workload uses, at every level.
const PubSubName = "edge-pubsub"
