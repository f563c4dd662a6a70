package topology

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// BacklogMetric is the gateway's backlog gauge (summed over its sinks).
const BacklogMetric = "edgeframe_datagateway_backlog_messages"

// Monitor observes a running topology: a tap on every broker (message rates; the L2 tap
// records every id produced), the file sink (delivered ids, end-to-end latency), the
// gateway's /metrics (backlog) and every process log (error lines).
type Monitor struct {
	topo *Topology
	Taps map[string]*Tap
	Sink *SinkReader

	mu        sync.Mutex
	delivered map[string]int
	total     int64
	latencies []time.Duration // every delivery's latency, in arrival order
	logOff    map[string]int64
	errors    int64
	errLines  []string
	last      Sample
}

// Sample is one row of the live table.
type Sample struct {
	At         time.Time
	Counts     map[string]int64   // messages seen per level since start
	Rates      map[string]float64 // msg/s per level since the previous sample
	Backlog    float64            // gateway backlog (messages), -1 when unknown
	Delivered  int64              // sink lines (duplicates included)
	Distinct   int                // distinct ids delivered
	P50, P99   time.Duration      // latency over the last 10 s of deliveries (-1 none)
	Errors     int64              // error lines in process logs
	DeliverPer float64            // deliveries/s since the previous sample
}

// NewMonitor connects the taps (the L2 tap records ids) as the monitor user.
func (t *Topology) NewMonitor() (*Monitor, error) {
	m := &Monitor{topo: t, Taps: map[string]*Tap{}, Sink: NewSinkReader(t.SinkDir),
		delivered: map[string]int{}, logOff: map[string]int64{}}
	for _, l := range Levels {
		b := t.Brokers[l]
		tap, err := NewTap(l, b.URL, MonitorUser, t.Creds[l][MonitorUser], l == "l2")
		if err != nil {
			m.Close()
			return nil, err
		}
		m.Taps[l] = tap
	}
	m.last = Sample{At: time.Now(), Counts: map[string]int64{}}
	return m, nil
}

// Close disconnects the taps.
func (m *Monitor) Close() {
	for _, tap := range m.Taps {
		tap.Close()
	}
}

// Produced returns the ids the L2 tap saw (id → times).
func (m *Monitor) Produced() map[string]int { return m.Taps["l2"].IDs() }

// Delivered reads the sink and returns the ids delivered so far (id → times).
func (m *Monitor) Delivered() map[string]int {
	m.pollSink()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.delivered))
	for k, v := range m.delivered {
		out[k] = v
	}
	return out
}

func (m *Monitor) pollSink() []Delivery {
	ds := m.Sink.Poll()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range ds {
		m.delivered[d.ID]++
		m.total++
		if l := d.Latency(); l >= 0 {
			m.latencies = append(m.latencies, l)
		}
	}
	return ds
}

// Verify compares the L2 tap with the sink.
func (m *Monitor) Verify() Report { return Verify(m.Produced(), m.Delivered()) }

// WaitDelivered polls the sink until every id the L2 tap saw (and every sequence
// implied) is delivered or ctx ends; it returns the last report.
func (m *Monitor) WaitDelivered(ctx context.Context) Report {
	for {
		r := m.Verify()
		if len(r.Missing) == 0 {
			return r
		}
		select {
		case <-ctx.Done():
			return r
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Sample takes one row of the live table.
func (m *Monitor) Sample(ctx context.Context) Sample {
	now := time.Now()
	fresh := m.pollSink()
	s := Sample{At: now, Counts: map[string]int64{}, Rates: map[string]float64{}, Backlog: -1, P50: -1, P99: -1}
	m.mu.Lock()
	prev := m.last
	dt := now.Sub(prev.At).Seconds()
	for l, tap := range m.Taps {
		s.Counts[l] = tap.Count()
		if dt > 0 {
			s.Rates[l] = float64(s.Counts[l]-prev.Counts[l]) / dt
		}
	}
	s.Delivered, s.Distinct = m.total, len(m.delivered)
	if dt > 0 {
		s.DeliverPer = float64(s.Delivered-prev.Delivered) / dt
	}
	m.mu.Unlock()
	var recent []time.Duration
	for _, d := range fresh {
		if l := d.Latency(); l >= 0 {
			recent = append(recent, l)
		}
	}
	m.mu.Lock()
	if len(recent) == 0 { // nothing new: keep the previous figures
		s.P50, s.P99 = prev.P50, prev.P99
	} else {
		s.P50, s.P99 = Percentile(recent, 50), Percentile(recent, 99)
	}
	m.mu.Unlock()
	if a, ok := m.topo.Apps[DataGateway]; ok {
		if v, err := ScrapeGauge(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", a.HTTPPort), BacklogMetric); err == nil {
			s.Backlog = v
		}
	}
	s.Errors = m.scanLogs()
	m.mu.Lock()
	m.last = s
	m.mu.Unlock()
	return s
}

// Latencies returns every delivery latency observed so far.
func (m *Monitor) Latencies() []time.Duration {
	m.pollSink()
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Duration(nil), m.latencies...)
}

// ErrorLines returns up to the last 20 error lines seen in the process logs.
func (m *Monitor) ErrorLines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.errLines...)
}

// isErrorLine recognises an error in a slog JSON line, a daprd JSON line or a
// mosquitto log line.
func isErrorLine(line string) bool {
	return strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"error"`) ||
		strings.Contains(line, `"level":"fatal"`) || strings.Contains(line, ": Error")
}

func (m *Monitor) scanLogs() int64 {
	for _, p := range m.topo.Sup.Processes() {
		f, err := os.Open(p.LogPath)
		if err != nil {
			continue
		}
		m.mu.Lock()
		off := m.logOff[p.LogPath]
		m.mu.Unlock()
		if _, err := f.Seek(off, io.SeekStart); err == nil {
			br := bufio.NewReader(f)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					break
				}
				off += int64(len(line))
				if isErrorLine(line) {
					m.mu.Lock()
					m.errors++
					m.errLines = append(m.errLines, p.Spec.Name+": "+strings.TrimSpace(line))
					if len(m.errLines) > 20 {
						m.errLines = m.errLines[len(m.errLines)-20:]
					}
					m.mu.Unlock()
				}
			}
		}
		f.Close()
		m.mu.Lock()
		m.logOff[p.LogPath] = off
		m.mu.Unlock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.errors
}

// Percentile returns the p-th percentile (nearest rank) of ds, -1 when empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p/100*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return s[i]
}

// ScrapeGauge sums every series of metric at a Prometheus text endpoint.
func ScrapeGauge(ctx context.Context, url, metric string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", url, err)
	}
	fam, ok := fams[metric]
	if !ok {
		return 0, errors.New(url + ": no metric " + metric)
	}
	var sum float64
	for _, mt := range fam.GetMetric() {
		switch {
		case mt.GetGauge() != nil:
			sum += mt.GetGauge().GetValue()
		case mt.GetCounter() != nil:
			sum += mt.GetCounter().GetValue()
		case mt.GetUntyped() != nil:
			sum += mt.GetUntyped().GetValue()
		}
	}
	return sum, nil
}
