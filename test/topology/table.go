package topology

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Describe writes the topology: levels, brokers, links, sidecars, workloads, files.
func (t *Topology) Describe(w io.Writer) {
	fmt.Fprintf(w, "edgeframe local topology — run directory %s\n", t.Cfg.RunDir)
	fmt.Fprintf(w, "  load: tempsensor %.4g msg/s", t.Cfg.Rate)
	if t.Cfg.NoTempSensor || t.Cfg.BrokersOnly {
		fmt.Fprint(w, " (off)")
	}
	if t.Cfg.OPCRate > 0 && !t.Cfg.BrokersOnly {
		fmt.Fprintf(w, ", opcpublisher %.4g msg/s (%d opcplc fast nodes)", t.Cfg.OPCRate, t.Cfg.OPCNodes)
	}
	fmt.Fprintln(w)
	if msgs, err := t.QueueLimit(); err == nil {
		rate := t.Cfg.Rate + t.Cfg.OPCRate
		fmt.Fprintf(w, "  broker queues (the profiles'): max_queued_messages %d, a %s outage at the producer rate\n",
			msgs, (time.Duration(float64(msgs)/rate) * time.Second).Round(time.Second))
	}
	for i := len(Levels) - 1; i >= 0; i-- {
		l := Levels[i]
		b := t.Brokers[l]
		fmt.Fprintf(w, "  %s  mosquitto %s (password users: %s)", strings.ToUpper(l), b.Addr, strings.Join(sortedKeys(t.Creds[l]), ", "))
		if b.BridgePort != 0 {
			fmt.Fprintf(w, ", TLS bridge listener 127.0.0.1:%d (client certificate required)", b.BridgePort)
		}
		fmt.Fprintln(w)
		for _, name := range []string{OPCPLC, OPCPublisher, TempSensor, DataGateway} {
			a, ok := t.Apps[name]
			if !ok || a.Level != l {
				continue
			}
			fmt.Fprintf(w, "      %-13s http 127.0.0.1:%d", name, a.HTTPPort)
			if a.OPCPort != 0 {
				fmt.Fprintf(w, ", opc.tcp://127.0.0.1:%d", a.OPCPort)
			}
			if s, ok := t.Sidecars[name]; ok {
				fmt.Fprintf(w, "  + daprd (grpc %d, http %d, metrics %d)", s.GRPCPort, s.HTTPPort, s.MetricsPort)
			}
			fmt.Fprintln(w)
		}
		if p := parent(l); p != "" {
			if port, ok := t.linkPorts[l]; ok {
				fmt.Fprintf(w, "      ↑ bridge-%s: telemetry/# QoS 1, cleansession false, mTLS via link 127.0.0.1:%d → %s\n",
					l, port, t.linkTargets[l])
			} else {
				fmt.Fprintf(w, "      ↑ bridge-%s: telemetry/# QoS 1, cleansession false, mTLS → 127.0.0.1:%d\n", l, t.Brokers[parent(l)].BridgePort)
			}
		}
	}
	if _, ok := t.Apps[DataGateway]; ok {
		fmt.Fprintf(w, "  sink: %s (JSON lines)", t.SinkDir)
		if t.AzuritePort != 0 {
			fmt.Fprint(w, " + Azurite blob container edgeframe")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  logs: %s\n", t.Sup.LogDir)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TableHeader is the live table's header line.
func TableHeader() string {
	return fmt.Sprintf("%-8s %9s %9s %9s %9s %10s %10s %9s %9s %7s",
		"time", "L2 msg/s", "L3 msg/s", "L4 msg/s", "sink/s", "backlog", "delivered", "p50", "p99", "errors")
}

// Row formats one sample; elapsed is the time since start.
func (s Sample) Row(elapsed time.Duration) string {
	backlog := "-"
	if s.Backlog >= 0 {
		backlog = fmt.Sprintf("%.0f", s.Backlog)
	}
	return fmt.Sprintf("%-8s %9.1f %9.1f %9.1f %9.1f %10s %10d %9s %9s %7d",
		elapsed.Truncate(time.Second), s.Rates["l2"], s.Rates["l3"], s.Rates["l4"], s.DeliverPer,
		backlog, s.Delivered, ms(s.P50), ms(s.P99), s.Errors)
}

func ms(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// Summary is the end-of-run report.
func (m *Monitor) Summary(elapsed time.Duration) string {
	r := m.Verify()
	lat := m.Latencies()
	var b strings.Builder
	fmt.Fprintf(&b, "summary after %s:\n", elapsed.Truncate(time.Second))
	for _, l := range Levels {
		n := m.Taps[l].Count()
		fmt.Fprintf(&b, "  %s saw %d messages (%.1f msg/s)\n", strings.ToUpper(l), n, float64(n)/elapsed.Seconds())
	}
	fmt.Fprintf(&b, "  sink: %s\n", r)
	fmt.Fprintf(&b, "  end-to-end latency: p50 %s, p99 %s over %d deliveries\n", ms(Percentile(lat, 50)), ms(Percentile(lat, 99)), len(lat))
	n := m.scanLogs()
	errs := m.ErrorLines()
	fmt.Fprintf(&b, "  error lines in process logs: %d\n", n)
	for _, e := range errs[max(0, len(errs)-5):] {
		if len(e) > 200 {
			e = e[:200] + "…"
		}
		fmt.Fprintf(&b, "    %s\n", e)
	}
	return b.String()
}
