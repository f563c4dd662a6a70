// Package metrics holds the gateway's Prometheus metrics (edgeframe_datagateway_*), served
// on /metrics by pkg/observe and bridged to OTLP when an endpoint is configured.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
)

const ns = "edgeframe_datagateway_"

// Metrics are the counters and gauges the gateway's packages update.
type Metrics struct {
	// Received counts pub/sub messages by result: accepted, deadlettered, rejected_full, error.
	Received *prometheus.CounterVec
	// Delivered counts messages a sink stored.
	Delivered *prometheus.CounterVec
	// Retries counts message delivery attempts repeated after a failure.
	Retries *prometheus.CounterVec
	// Dropped counts messages lost by the buffer, by sink and reason (full, age, corrupt).
	Dropped *prometheus.CounterVec
	// DeadLettered counts messages sent to the dead-letter store, by stage and reason.
	DeadLettered *prometheus.CounterVec
	// Replayed counts messages delivered by a controlled replay.
	Replayed *prometheus.CounterVec
	// BreakerOpen is 1 while a sink's circuit breaker is open.
	BreakerOpen *prometheus.GaugeVec
	// ReplayActive is 1 while a sink replays a backlog at the capped rate.
	ReplayActive *prometheus.GaugeVec
	// Commit is the time of one buffer write + fsync; CommitRecords the records it held.
	Commit        prometheus.Histogram
	CommitRecords prometheus.Histogram
	// Delivery is how long the gateway takes to answer one daprd delivery (a message,
	// or a bulk of them): decode, durable append, dead letters.
	Delivery prometheus.Histogram
}

// New registers the metrics on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "received_messages_total",
			Help: "Pub/sub messages received, by result (accepted, deadlettered, rejected_full, error)."}, []string{"result"}),
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "delivered_messages_total",
			Help: "Messages stored by a sink."}, []string{"sink"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "retries_total",
			Help: "Message delivery attempts repeated after a failure."}, []string{"sink"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "dropped_messages_total",
			Help: "Messages the buffer dropped before a sink delivered them, by reason (full, age, corrupt)."}, []string{"sink", "reason"}),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "deadlettered_messages_total",
			Help: "Messages sent to the dead-letter store, by stage (ingest, sink name) and reason."}, []string{"stage", "reason"}),
		Replayed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "replayed_messages_total",
			Help: "Messages delivered by a rate-capped replay after an outage."}, []string{"sink"}),
		BreakerOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ns + "breaker_open",
			Help: "1 while the sink's circuit breaker is open."}, []string{"sink"}),
		ReplayActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ns + "replay_active",
			Help: "1 while the sink replays a backlog at the capped rate."}, []string{"sink"}),
		Commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + "buffer_commit_seconds",
			Help: "Time of one buffer write + fsync.", Buckets: prometheus.ExponentialBuckets(0.00025, 2, 13)}),
		CommitRecords: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + "buffer_commit_records",
			Help: "Records made durable by one buffer commit.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		Delivery: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + "ingest_delivery_seconds",
			Help: "Time to answer one daprd delivery (one message or a bulk): decode, durable append, dead letters.", Buckets: prometheus.ExponentialBuckets(0.00025, 2, 13)}),
	}
	reg.MustRegister(m.Received, m.Delivered, m.Retries, m.Dropped, m.DeadLettered, m.Replayed, m.BreakerOpen, m.ReplayActive,
		m.Commit, m.CommitRecords, m.Delivery)
	return m
}

// Discard returns metrics registered nowhere (for tools and tests that do not read them).
func Discard() *Metrics { return New(prometheus.NewRegistry()) }

// BufferCollector reports the buffer's backlog per sink at scrape time.
type BufferCollector struct {
	b                                   *buffer.Buffer
	backlog, backlogBytes, oldest, size *prometheus.Desc
	segments                            *prometheus.Desc
}

// NewBufferCollector collects from b.
func NewBufferCollector(b *buffer.Buffer) *BufferCollector {
	return &BufferCollector{
		b:            b,
		backlog:      prometheus.NewDesc(ns+"backlog_messages", "Messages in the buffer not yet delivered by the sink.", []string{"sink"}, nil),
		backlogBytes: prometheus.NewDesc(ns+"backlog_bytes", "Bytes in the buffer not yet delivered by the sink.", []string{"sink"}, nil),
		oldest:       prometheus.NewDesc(ns+"backlog_oldest_age_seconds", "Age of the oldest message the sink has not delivered.", []string{"sink"}, nil),
		size:         prometheus.NewDesc(ns+"buffer_bytes", "Bytes the buffer holds on disk.", nil, nil),
		segments:     prometheus.NewDesc(ns+"buffer_segments", "Segment files of the buffer.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *BufferCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.backlog, c.backlogBytes, c.oldest, c.size, c.segments} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *BufferCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.b.Stats()
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(c.segments, prometheus.GaugeValue, float64(st.Segments))
	for name, s := range st.Sinks {
		ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(s.Messages), name)
		ch <- prometheus.MustNewConstMetric(c.backlogBytes, prometheus.GaugeValue, float64(s.Bytes), name)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, s.OldestAge.Seconds(), name)
	}
}
