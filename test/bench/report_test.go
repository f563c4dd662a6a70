package bench

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/topology"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// Latency is a phase's end-to-end latency figures.
type Latency struct {
	Rate    float64 `json:"rate_msg_s"`
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
}

func latencyOf(rate float64, lat []time.Duration) Latency {
	return Latency{Rate: rate, Samples: len(lat), P50: ms(topology.Percentile(lat, 50)), P99: ms(topology.Percentile(lat, 99))}
}

func (l Latency) String() string {
	return fmt.Sprintf("p50 %.2f ms, p99 %.2f ms (%d samples)", l.P50, l.P99, l.Samples)
}

// Load is one load phase of the full path: its rate, CPU per message by process and the
// peak RSS of every process during it.
type Load struct {
	Rate       float64            `json:"delivered_msg_s"`
	CPUPerMsg  map[string]float64 `json:"cpu_us_per_msg"`
	PathCPU    float64            `json:"path_cpu_us_per_msg"`
	PeakRSSMiB map[string]float64 `json:"peak_rss_mib"`
}

// TopologyReport is what BenchmarkTopology measured, in one run on one machine.
type TopologyReport struct {
	RawLimit    float64            `json:"raw_limit_msg_s"`
	RawLatency  map[string]Latency `json:"raw_latency"` // by rate
	FullMax     float64            `json:"full_max_msg_s"`
	Ratio       float64            `json:"ratio_to_raw"`
	FullLatency map[string]Latency `json:"full_latency"` // by rate
	At1000      Load               `json:"at_1000"`
	AtMax       Load               `json:"at_max"`
	Hops        map[string]Latency `json:"hops_at_1000"` // event time → seen at each broker
}

// SoakSample is every process's RSS at one moment of the soak.
type SoakSample struct {
	At     float64            `json:"at_s"`
	Phase  string             `json:"phase"`
	RSSMiB map[string]float64 `json:"rss_mib"`
}

// SoakProcess is one process's RSS over the soak.
type SoakProcess struct {
	Start, Middle, End, Peak float64
	Grew                     bool // end RSS more than 10 % above the middle
}

// SoakReport is what BenchmarkSoak measured.
type SoakReport struct {
	Duration     string                 `json:"duration"`
	Rate         float64                `json:"rate_msg_s"`
	SinkDown     string                 `json:"sink_down"`
	Produced     int                    `json:"produced"`
	Missing      int                    `json:"missing"`
	Duplicates   int                    `json:"duplicates"`
	DrainSeconds float64                `json:"drain_s"`
	Processes    map[string]SoakProcess `json:"processes"`
	Samples      []SoakSample           `json:"samples"`
}

// benchFile is bin/bench.json: the last run of each benchmark, with the machine and commit.
type benchFile struct {
	Topology *benchRun[TopologyReport] `json:"topology,omitempty"`
	Soak     *benchRun[SoakReport]     `json:"soak,omitempty"`
}

type benchRun[T any] struct {
	At      time.Time `json:"at"`
	Commit  string    `json:"commit"`
	CPUs    int       `json:"cpus"`
	Figures T         `json:"figures"`
}

func newRun[T any](figures T) *benchRun[T] {
	commit := "unknown"
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	return &benchRun[T]{At: time.Now().UTC(), Commit: commit, CPUs: runtime.NumCPU(), Figures: figures}
}

// writeBenchFile updates bin/bench.json (at the repository root) with what set changes,
// keeping the other benchmark's last run.
func writeBenchFile(b *testing.B, set func(*benchFile)) {
	b.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(root, "bin", "bench.json")
	var f benchFile
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &f); err != nil {
			b.Logf("%s: %v; writing it anew", path, err)
			f = benchFile{}
		}
	}
	set(&f)
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("figures written to %s", path)
}

// mib converts a per-process byte map to MiB.
func mib(m map[string]int64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v) / (1 << 20)
	}
	return out
}

// describeMiB prints a per-process MiB map in name order.
func describeMiB(m map[string]float64) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %.1f MiB", n, m[n]))
	}
	return strings.Join(parts, ", ")
}
