package plc_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

// recorder collects what the OnChange listeners are told.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) listen(ids []string, _ time.Time) {
	r.mu.Lock()
	r.ids = append(r.ids, ids...)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ids
	r.ids = nil
	return out
}

func TestStepUpMethodsStopStartAndReset(t *testing.T) {
	s, clk := newSim(t, nil)
	var rec recorder
	s.OnChange(rec.listen)
	for range 5 {
		s.Advance(clk.Add(100 * time.Millisecond))
	}
	if got := value[uint32](t, s, "StepUp"); got != 5 {
		t.Fatalf("StepUp = %d after 5 cycles", got)
	}
	if err := s.Call("StopStepUp"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		s.Advance(clk.Add(100 * time.Millisecond))
	}
	if got := value[uint32](t, s, "StepUp"); got != 5 {
		t.Errorf("StepUp = %d after StopStepUp and 5 cycles, want it held at 5", got)
	}
	rec.take()
	if err := s.Call("ResetStepUp"); err != nil {
		t.Fatal(err)
	}
	if got := value[uint32](t, s, "StepUp"); got != 0 {
		t.Errorf("StepUp = %d after ResetStepUp", got)
	}
	if v, _ := s.Value("StepUp"); !v.Source.Equal(clk.Now()) {
		t.Errorf("reset StepUp has source time %v, want the call's %v", v.Source, clk.Now())
	}
	if got := rec.take(); !slices.Equal(got, []string{"StepUp"}) {
		t.Errorf("ResetStepUp notified %v, want [StepUp]", got)
	}
	if err := s.Call("StartStepUp"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.Advance(clk.Add(100 * time.Millisecond))
	}
	if got := value[uint32](t, s, "StepUp"); got != 3 {
		t.Errorf("StepUp = %d 3 cycles after StartStepUp from 0, want 3", got)
	}
}

func TestUpdateNodesMethodsPauseAndResumeLoadNodes(t *testing.T) {
	s, clk := newSim(t, nil)
	var rec recorder
	s.OnChange(rec.listen)
	s.Advance(clk.Add(time.Second))
	before := value[uint32](t, s, "FastUInt1")
	if err := s.Call("StopUpdateFastNodes"); err != nil {
		t.Fatal(err)
	}
	rec.take()
	s.Advance(clk.Add(3 * time.Second))
	if got := value[uint32](t, s, "FastUInt1"); got != before {
		t.Errorf("FastUInt1 went from %d to %d while stopped", before, got)
	}
	for _, id := range rec.take() {
		if strings.Contains(id, "Fast") {
			t.Errorf("%s changed while the fast nodes were stopped", id)
		}
	}
	if err := s.Call("StartUpdateFastNodes"); err != nil {
		t.Fatal(err)
	}
	s.Advance(clk.Add(time.Second))
	if got := value[uint32](t, s, "FastUInt1"); got != before+1 {
		t.Errorf("FastUInt1 = %d after StartUpdateFastNodes and 1 s, want %d", got, before+1)
	}
	// Slow nodes have their own pair; stopping them leaves the fast ones running.
	if err := s.Call("StopUpdateSlowNodes"); err != nil {
		t.Fatal(err)
	}
	slow := value[uint32](t, s, "SlowUInt1")
	s.Advance(clk.Add(20 * time.Second))
	if got := value[uint32](t, s, "SlowUInt1"); got != slow {
		t.Errorf("SlowUInt1 went from %d to %d while stopped", slow, got)
	}
	if got := value[uint32](t, s, "FastUInt1"); got == before+1 {
		t.Error("stopping the slow nodes stopped the fast ones")
	}
}

func TestResetTrendRestartsTheTrendsAtBaseline(t *testing.T) {
	s, clk := newSim(t, func(c *plc.Config) { c.CycleCount = 2 })
	for range 60 { // 30 phases: both trends have left their baseline
		s.Advance(clk.Add(100 * time.Millisecond))
	}
	if p, n := value[float64](t, s, "PositiveTrendData"), value[float64](t, s, "NegativeTrendData"); p <= 100 || n >= 100 {
		t.Fatalf("trends %g/%g have not moved", p, n)
	}
	if err := s.Call("ResetTrend"); err != nil {
		t.Fatal(err)
	}
	s.Advance(clk.Add(100 * time.Millisecond))
	if p, n := value[float64](t, s, "PositiveTrendData"), value[float64](t, s, "NegativeTrendData"); p != 100 || n != 100 {
		t.Errorf("after ResetTrend the trends are %g/%g, want the baseline 100", p, n)
	}
}

func TestMethodsExistOnlyWithTheirNodes(t *testing.T) {
	s, _ := newSim(t, func(c *plc.Config) {
		c.NoData, c.NoPosTrend, c.NoNegTrend, c.Slow.Count = true, true, true, 0
	})
	var names []string
	for _, m := range s.Methods() {
		names = append(names, m.Name)
	}
	if want := []string{"StartUpdateFastNodes", "StopUpdateFastNodes"}; !slices.Equal(sorted(names), want) {
		t.Errorf("methods %v, want %v", names, want)
	}
	if err := s.Call("ResetStepUp"); !errors.Is(err, plc.ErrUnknownNode) {
		t.Errorf("ResetStepUp without --nv: %v, want ErrUnknownNode", err)
	}
	if err := s.Call("Fast"); !errors.Is(err, plc.ErrNotMethod) {
		t.Errorf("calling a folder: %v, want ErrNotMethod", err)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestWriteStepUpAndSpecialNodes(t *testing.T) {
	s, clk := newSim(t, func(c *plc.Config) { c.LongID, c.Opaque, c.LongStrings = true, true, true })
	var rec recorder
	s.OnChange(rec.listen)
	if err := s.Write("StepUp", uint32(1000)); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, []string{"StepUp"}) {
		t.Errorf("write notified %v", got)
	}
	s.Advance(clk.Add(100 * time.Millisecond))
	if got := value[uint32](t, s, "StepUp"); got != 1001 {
		t.Errorf("StepUp = %d one cycle after writing 1000, want 1001", got)
	}
	for _, tc := range []struct {
		id   string
		v    any
		want error
	}{
		{"StepUp", int32(5), plc.ErrTypeMismatch},
		{"StepUp", 5.0, plc.ErrTypeMismatch},
		{"RandomSignedInt32", int32(5), plc.ErrNotWritable},
		{"AlternatingBoolean", true, plc.ErrNotWritable},
		{"SpikeData", 1.5, plc.ErrNotWritable},
		{"FastUInt1", uint32(5), nil}, // the load nodes are writable in OPC PLC too
		{"FastUInt1", 5.0, plc.ErrTypeMismatch},
		{"Basic", uint32(5), plc.ErrNotWritable},
		{"NoSuchNode", uint32(5), plc.ErrUnknownNode},
		{"LongString10kB", []byte("x"), plc.ErrTypeMismatch},
		{"LongString10kB", "written", nil},
		{"LongString100kB", []byte("written"), nil},
		{"LongString200kB", plc.ByteArray("written"), nil},
		{plc.LongID(), uint32(7), nil},
		{plc.Key(plc.IDOpaque, plc.OpaqueID), uint32(7), nil},
		{plc.Key(plc.IDGUID, plc.GUIDs(1)[0]), uint32(7), nil},
	} {
		if err := s.Write(tc.id, tc.v); !errors.Is(err, tc.want) {
			t.Errorf("write %.20s = %#v: %v, want %v", tc.id, tc.v, err, tc.want)
		}
	}
}

func TestSpecialNodesHaveOPCPLCShapeAndChangeEverySecond(t *testing.T) {
	s, clk := newSim(t, func(c *plc.Config) { c.LongID, c.Opaque, c.LongStrings, c.GUIDNodes = true, true, true, 3 })
	long, ok := s.Node(plc.LongID())
	if !ok || len(long.ID) != 3950 || long.DisplayName() != "LongId3950" || long.Parent != "Special" || !strings.HasPrefix(long.ID, "ABCDEFGHIJKLMNOPQRSTUVWXYZABC") {
		t.Fatalf("long id node %+v", long)
	}
	op, ok := s.Node(plc.Key(plc.IDOpaque, "abc"))
	if !ok || op.Name != "Opaque_abc" || op.IDType != plc.IDOpaque {
		t.Fatalf("opaque node %+v", op)
	}
	guids := plc.GUIDs(3)
	if again := plc.GUIDs(3); !slices.Equal(guids, again) || guids[0] == guids[1] {
		t.Fatalf("GUIDs are not deterministic and distinct: %v %v", guids, again)
	}
	for _, g := range guids {
		n, ok := s.Node(plc.Key(plc.IDGUID, g))
		if !ok || n.Parent != "Deterministic GUID" || n.Name != strings.ToLower(g) || g[14] != '4' {
			t.Errorf("GUID node %s: %+v", g, n)
		}
	}
	sizes := map[string]int{"LongString10kB": 10240, "LongString50kB": 51200, "LongString100kB": 102400, "LongString200kB": 204800}
	first := map[string]any{}
	for name := range sizes {
		v, _ := s.Value(name)
		first[name] = v.V
	}
	changed := map[string]bool{}
	for range 5 {
		s.Advance(clk.Add(time.Second))
		for name, size := range sizes {
			v, _ := s.Value(name)
			var b []byte
			switch x := v.V.(type) {
			case string:
				b = []byte(x)
			case []byte:
				b = x
			case plc.ByteArray:
				b = x
			}
			if len(b) != size || strings.Trim(string(b), string(b[:1])) != "" || b[0] < 'A' || b[0] > 'Z' {
				t.Fatalf("%s: %d bytes starting %q, want %d of one capital letter", name, len(b), b[:min(len(b), 3)], size)
			}
			if string(b) != toString(first[name]) {
				changed[name] = true
			}
		}
	}
	if len(changed) != len(sizes) {
		t.Errorf("in 5 s only %v changed", changed)
	}
	if got := value[uint32](t, s, plc.Key(plc.IDOpaque, "abc")); got != 5 {
		t.Errorf("Opaque_abc = %d after 5 s, want 5", got)
	}
	if got := value[uint32](t, s, plc.Key(plc.IDGUID, guids[2])); got != 5 {
		t.Errorf("GUID node = %d after 5 s, want 5", got)
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case plc.ByteArray:
		return string(x)
	}
	return ""
}

// OPC PLC's own test (tests/GuidNodesTests.cs) finds these two nodes with --gn=2.
func TestGUIDsAreOPCPLCs(t *testing.T) {
	want := []string{"51B74E55-F2E3-4A4D-B79C-BF57C76EA67C", "1313895E-C776-4201-B893-E514864C6692"}
	if got := plc.GUIDs(2); !slices.Equal(got, want) {
		t.Errorf("GUIDs(2) = %v, want OPC PLC's %v", got, want)
	}
}

// OPC PLC's SimulatorConfiguration/{Slow,Fast}NumberOfUpdates: < 0 for ever, 0 none, n > 0
// that many more updates, counted down.
func TestNumberOfUpdatesLimitsTheLoadNodes(t *testing.T) {
	s, clk := newSim(t, nil)
	n, ok := s.Node("FastNumberOfUpdates")
	if !ok || n.Parent != "SimulatorConfiguration" || !n.Writable || !n.Config || n.DataType != plc.Int32 {
		t.Fatalf("FastNumberOfUpdates %+v", n)
	}
	if got := value[int32](t, s, "SlowNumberOfUpdates"); got != -1 {
		t.Errorf("SlowNumberOfUpdates = %d, want -1", got)
	}
	if err := s.Write("FastNumberOfUpdates", int32(3)); err != nil {
		t.Fatal(err)
	}
	before := value[uint32](t, s, "FastUInt1")
	for range 6 {
		s.Advance(clk.Add(time.Second))
	}
	if got := value[uint32](t, s, "FastUInt1"); got != before+3 {
		t.Errorf("FastUInt1 went %d -> %d in 6 s with 3 updates allowed", before, got)
	}
	if got := value[int32](t, s, "FastNumberOfUpdates"); got != 0 {
		t.Errorf("FastNumberOfUpdates = %d after they were used up, want 0", got)
	}
	if err := s.Write("FastNumberOfUpdates", int32(-1)); err != nil {
		t.Fatal(err)
	}
	s.Advance(clk.Add(time.Second))
	if got := value[uint32](t, s, "FastUInt1"); got != before+4 {
		t.Errorf("FastUInt1 = %d after -1, want it updating again (%d)", got, before+4)
	}
}
