package topology

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	ids := func(s ...string) map[string]int {
		m := map[string]int{}
		for _, id := range s {
			m[id]++
		}
		return m
	}
	for _, tc := range []struct {
		name                 string
		produced, delivered  map[string]int
		missing              []string
		dups, expected, gaps int
	}{
		{"all delivered once", ids("t/d/1", "t/d/2", "t/d/3"), ids("t/d/1", "t/d/2", "t/d/3"), nil, 0, 3, 0},
		{"duplicates counted", ids("t/d/1", "t/d/2"), ids("t/d/1", "t/d/1", "t/d/2", "t/d/2", "t/d/2"), nil, 3, 2, 0},
		{"missing named in order", ids("t/d/1", "t/d/2", "t/d/10", "t/d/3"), ids("t/d/1"), []string{"t/d/2", "t/d/3", "t/d/4", "t/d/5", "t/d/6", "t/d/7", "t/d/8", "t/d/9", "t/d/10"}, 0, 10, 6},
		{"sequence gap seen nowhere is missing", ids("t/d/1", "t/d/3"), ids("t/d/1", "t/d/3"), []string{"t/d/2"}, 0, 3, 1},
		{"writers are independent", ids("a/x/5", "b/y/1"), ids("a/x/5", "b/y/1"), nil, 0, 2, 0},
		{"delivered beyond the tap extends the range", ids("t/d/1"), ids("t/d/1", "t/d/3"), []string{"t/d/2"}, 0, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Verify(tc.produced, tc.delivered)
			if !reflect.DeepEqual(r.Missing, tc.missing) {
				t.Errorf("missing %v, want %v", r.Missing, tc.missing)
			}
			if r.Duplicates != tc.dups || r.Produced != tc.expected {
				t.Errorf("duplicates %d produced %d, want %d and %d", r.Duplicates, r.Produced, tc.dups, tc.expected)
			}
			gaps := 0
			for _, w := range r.Writers {
				gaps += len(w.Gaps)
			}
			if gaps != tc.gaps {
				t.Errorf("gaps %d, want %d", gaps, tc.gaps)
			}
			if len(tc.missing) > 0 && !strings.Contains(r.String(), tc.missing[0]) {
				t.Errorf("report %q does not name %s", r, tc.missing[0])
			}
		})
	}
}

func TestSinkReaderReadsCompleteLinesOnceAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	line := `{"id":"tempsensor/s/1","topic":"telemetry/tempsensor/s","receivedAt":"2026-01-02T03:04:05.012Z","event":{"id":"tempsensor/s/1","time":"2026-01-02T03:04:05Z","sequence":1}}` + "\n"
	f1 := filepath.Join(dir, "telemetry-1.jsonl")
	if err := os.WriteFile(f1, []byte(line+`{"id":"tempsensor/s/2","event":{"id":"tempsensor/s/2","sequence":"2"}}`+"\n"+`{"id":"partial`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := NewSinkReader(dir)
	got := r.Poll()
	if len(got) != 2 || got[0].ID != "tempsensor/s/1" || got[1].Sequence != 2 {
		t.Fatalf("first poll: %+v", got)
	}
	if l := got[0].Latency(); l != 12*time.Millisecond || !got[0].Time.Equal(at) {
		t.Errorf("latency %s time %s", l, got[0].Time)
	}
	if again := r.Poll(); len(again) != 0 {
		t.Fatalf("second poll re-read %d lines", len(again))
	}
	fh, _ := os.OpenFile(f1, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`"}` + "\n")
	fh.Close()
	os.WriteFile(filepath.Join(dir, "telemetry-2.jsonl"), []byte(strings.Replace(line, "/1", "/3", -1)), 0o644)
	got = r.Poll()
	if len(got) != 2 {
		t.Fatalf("after completing a line and rotating: %+v", got)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Config{Rate: -1, OPCRate: 5000, OPCNodes: -1}.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"rate: -1", "opc rate: 5000", "opc nodes: -1", "run dir", "charts dir", "mosquitto: not installed", "daprd: not built", "workload datagateway: binary not built"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestPortsCheckNamesAPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	p := NewPorts(busy)
	if _, err := p.Alloc("L2 broker client listener"); err != nil {
		t.Fatal(err)
	}
	err = p.Check()
	if err == nil || !strings.Contains(err.Error(), "L2 broker client listener") || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("want one line naming the port's purpose, got %v", err)
	}
}
