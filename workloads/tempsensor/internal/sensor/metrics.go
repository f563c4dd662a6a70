package sensor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeframe/edgeframe/pkg/daprpub"
)

// Metrics are the edgeframe_tempsensor_* figures of the loop and its send queue.
type Metrics struct {
	Produced    prometheus.Counter
	Published   prometheus.Counter
	Retries     prometheus.Counter
	Dropped     *prometheus.CounterVec
	Latency     prometheus.Histogram
	Temperature prometheus.Gauge
	SendData    prometheus.Gauge
	Resets      prometheus.Counter
	Resyncs     prometheus.Counter
	// SequenceFailures counts failed attempts to open the sequence store or persist its mark.
	SequenceFailures prometheus.Counter
}

// NewMetrics registers the metrics with reg (nil = unregistered); queueLen, when not
// nil, backs edgeframe_tempsensor_queue_messages.
func NewMetrics(reg prometheus.Registerer, queueLen func() int) *Metrics {
	m := &Metrics{
		Produced: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_tempsensor_messages_produced_total",
			Help: "Messages created and queued for publishing."}),
		Published: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_tempsensor_messages_published_total",
			Help: "Messages the Dapr sidecar accepted."}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_tempsensor_publish_retries_total",
			Help: "Failed publish attempts that will be retried."}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeframe_tempsensor_messages_dropped_total",
			Help: "Messages dropped before publishing, by reason."}, []string{"reason"}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edgeframe_tempsensor_publish_latency_seconds",
			Help:    "Time from queueing a message to the sidecar accepting it.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}),
		Temperature: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeframe_tempsensor_machine_temperature_celsius",
			Help: "Current simulated machine temperature."}),
		SendData: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeframe_tempsensor_send_data",
			Help: "1 while sending, 0 while paused (SendData=false)."}),
		Resets: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_tempsensor_resets_total",
			Help: "Machine temperature resets applied."}),
		Resyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_tempsensor_schedule_resyncs_total",
			Help: "Times the loop fell more than a second behind its schedule and skipped the lost periods."}),
		SequenceFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_tempsensor_sequence_store_failures_total",
			Help: "Failed attempts to open the sequence state file or persist its mark; nothing is sent while it fails."}),
	}
	if reg != nil {
		reg.MustRegister(m.Produced, m.Published, m.Retries, m.Dropped, m.Latency, m.Temperature, m.SendData, m.Resets, m.Resyncs, m.SequenceFailures)
		if queueLen != nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgeframe_tempsensor_queue_messages",
				Help: "Messages waiting in the send queue."}, func() float64 { return float64(queueLen()) }))
		}
	}
	m.Dropped.WithLabelValues("queue full")
	return m
}

// Hooks count what the send queue does.
func (m *Metrics) Hooks() daprpub.Hooks {
	return daprpub.Hooks{
		Sent: func(_ daprpub.Item, latency time.Duration) {
			m.Published.Inc()
			m.Latency.Observe(latency.Seconds())
		},
		Retried: func(daprpub.Item, int, error) { m.Retries.Inc() },
		Dropped: func(_ daprpub.Item, reason string) { m.Dropped.WithLabelValues(reason).Inc() },
	}
}
