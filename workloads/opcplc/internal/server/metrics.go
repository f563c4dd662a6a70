package server

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metrics are opcplc's Prometheus metrics (edgeframe_opcplc_*).
type metrics struct {
	sessions      prometheus.Gauge
	subscriptions prometheus.Gauge
	items         prometheus.Gauge
	notifications prometheus.Counter
	rate          prometheus.Gauge
	overflows     prometheus.Counter
	rejected      *prometheus.CounterVec
	chaos         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeframe_opcplc_sessions", Help: "Activated OPC UA sessions."}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeframe_opcplc_subscriptions", Help: "Live OPC UA subscriptions."}),
		items:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeframe_opcplc_monitored_items", Help: "Live monitored items."}),
		notifications: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_opcplc_notifications_total", Help: "Data change notifications sent to clients."}),
		rate:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgeframe_opcplc_notifications_per_second", Help: "Data change notifications sent in the last second."}),
		overflows:     prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeframe_opcplc_queue_overflows_total", Help: "Values discarded because a monitored item queue was full."}),
		rejected:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeframe_opcplc_session_rejections_total", Help: "Session activations refused, by reason."}, []string{"reason"}),
		chaos:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeframe_opcplc_chaos_faults_total", Help: "Faults injected by --chaos, by action."}, []string{"action"}),
	}
	for _, c := range []prometheus.Collector{m.sessions, m.subscriptions, m.items, m.notifications, m.rate, m.overflows, m.rejected, m.chaos} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) notificationsSent() uint64 {
	var d dto.Metric
	if err := m.notifications.Write(&d); err != nil {
		return 0
	}
	return uint64(d.GetCounter().GetValue())
}
