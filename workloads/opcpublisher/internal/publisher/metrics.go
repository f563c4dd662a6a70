package publisher

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeframe/edgeframe/pkg/daprpub"
)

// Metrics are opcpublisher's Prometheus metrics (exported over OTLP too, through the
// observe bridge). Names follow edgeframe_<workload>_<what>_<unit>.
type Metrics struct {
	ValueChanges   prometheus.Counter
	ValueChangesPS prometheus.Gauge
	Messages       prometheus.Counter
	MessagesPS     prometheus.Gauge
	Dropped        prometheus.Counter
	Retries        prometheus.Counter
	PublishLatency prometheus.Histogram
	Connected      *prometheus.GaugeVec
	MonitoredItems prometheus.Gauge
	RefusedItems   prometheus.Counter
	DataGaps       prometheus.Counter
	ConfigErrors   prometheus.Counter
	// ConfigStale is 1 while the last good publishednodes.json runs because the file
	// on disk has no valid entry.
	ConfigStale     prometheus.Gauge
	valueChangesNow atomic.Int64
	messagesNow     atomic.Int64

	// SequenceFailures counts failed attempts to open a group's sequence state file or
	// persist its mark.
	SequenceFailures prometheus.Counter
}

// NewMetrics registers the metrics on reg; queueLen reports the send queue length.
func NewMetrics(reg prometheus.Registerer, queueLen func() int) *Metrics {
	const ns, sub = "edgeframe", "opcpublisher"
	m := &Metrics{
		ValueChanges: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "value_changes_total",
			Help: "OPC UA value changes received from monitored items."}),
		ValueChangesPS: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "value_changes_per_second",
			Help: "Value changes received in the last second."}),
		Messages: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "messages_sent_total",
			Help: "Messages (CloudEvents) published to the Dapr sidecar."}),
		MessagesPS: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "messages_per_second",
			Help: "Messages published in the last second."}),
		Dropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "messages_dropped_total",
			Help: "Messages dropped: the send queue (--om) was full, or (counting data set messages or samples) a batch could not be encoded or numbered."}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "publish_retries_total",
			Help: "Failed publish attempts that were retried."}),
		PublishLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "publish_latency_seconds",
			Help: "Time from enqueue to a successful publish.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}),
		Connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "connection_state",
			Help: "1 when the session to the endpoint is connected and subscribed, else 0."}, []string{"endpoint", "security"}),
		MonitoredItems: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "monitored_items",
			Help: "Monitored items configured."}),
		RefusedItems: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "refused_items_total",
			Help: "Monitored items the server refused (bad node id, unknown namespace)."}),
		DataGaps: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "data_gaps_total",
			Help: "Reconnections after which a writer's sequence numbers skip the missed intervals."}),
		ConfigErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "config_errors_total",
			Help: "Problems found in publishednodes.json loads."}),
		ConfigStale: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "config_stale",
			Help: "1 while the last good publishednodes.json keeps running because the file on disk has no valid entry."}),
		SequenceFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "sequence_store_failures_total",
			Help: "Failed attempts to open a writer group's sequence state file or persist its mark; the group's batches are dropped meanwhile."}),
	}
	reg.MustRegister(m.ValueChanges, m.ValueChangesPS, m.Messages, m.MessagesPS, m.Dropped, m.Retries, m.PublishLatency,
		m.Connected, m.MonitoredItems, m.RefusedItems, m.DataGaps, m.ConfigErrors, m.ConfigStale, m.SequenceFailures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "queue_length_messages",
			Help: "Messages waiting in the send queue."}, func() float64 { return float64(queueLen()) }))
	return m
}

func (m *Metrics) valueChanges(n int) {
	m.ValueChanges.Add(float64(n))
	m.valueChangesNow.Add(int64(n))
}

// tick updates the per-second gauges; call it once a second.
func (m *Metrics) tick(elapsed time.Duration) {
	s := elapsed.Seconds()
	if s <= 0 {
		return
	}
	m.ValueChangesPS.Set(float64(m.valueChangesNow.Swap(0)) / s)
	m.MessagesPS.Set(float64(m.messagesNow.Swap(0)) / s)
}

// Hooks counts what the send queue does.
func (m *Metrics) Hooks() daprpub.Hooks {
	return daprpub.Hooks{
		Sent: func(_ daprpub.Item, latency time.Duration) {
			m.Messages.Inc()
			m.messagesNow.Add(1)
			m.PublishLatency.Observe(latency.Seconds())
		},
		Retried: func(daprpub.Item, int, error) { m.Retries.Inc() },
		Dropped: func(daprpub.Item, string) { m.Dropped.Inc() },
	}
}
