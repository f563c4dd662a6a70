package plc_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

// fakeClock is moved by the test; After fires when the clock passes the deadline.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
	return c.now
}

func newSim(t *testing.T, mutate func(*plc.Config)) (*plc.Simulator, *fakeClock) {
	t.Helper()
	cfg := plc.DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	clk := newFakeClock()
	s, err := plc.New(cfg, clk, 42)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func value[T any](t *testing.T, s *plc.Simulator, id string) T {
	t.Helper()
	v, ok := s.Value(id)
	if !ok {
		t.Fatalf("no variable %s", id)
	}
	x, ok := v.V.(T)
	if !ok {
		t.Fatalf("%s = %#v, want a %T", id, v.V, x)
	}
	return x
}

func TestNodeSetMatchesOPCPLC(t *testing.T) {
	s, _ := newSim(t, func(c *plc.Config) { c.Fast.Count = 3; c.Slow.Count = 2; c.Slow.Type = plc.TypeDouble })
	want := map[string]string{ // id -> parent
		"OpcPlc": "", "Telemetry": "OpcPlc", "Basic": "Telemetry", "Anomaly": "Telemetry", "Fast": "Telemetry", "Slow": "Telemetry",
		"StepUp": "Basic", "AlternatingBoolean": "Basic", "RandomSignedInt32": "Basic", "RandomUnsignedInt32": "Basic",
		"SpikeData": "Anomaly", "DipData": "Anomaly", "PositiveTrendData": "Anomaly", "NegativeTrendData": "Anomaly",
		"FastUInt1": "Fast", "FastUInt2": "Fast", "FastUInt3": "Fast", "BadFastUInt1": "Fast",
		"SlowDouble1": "Slow", "SlowDouble2": "Slow", "BadSlowDouble1": "Slow",
		"Methods": "OpcPlc", "ResetStepUp": "Methods", "StartStepUp": "Methods", "StopStepUp": "Methods",
		"ResetTrend": "Methods", "ResetPosTrend": "Methods", "ResetNegTrend": "Methods",
		"StartUpdateSlowNodes": "Methods", "StopUpdateSlowNodes": "Methods", "StartUpdateFastNodes": "Methods", "StopUpdateFastNodes": "Methods",
		"Deterministic GUID": "Telemetry", plc.GUIDs(1)[0]: "Deterministic GUID", // --gn defaults to 1, as in OPC PLC
		"SimulatorConfiguration": "OpcPlc", "SlowNumberOfUpdates": "SimulatorConfiguration", "FastNumberOfUpdates": "SimulatorConfiguration",
	}
	got := map[string]string{}
	for _, n := range s.Nodes() {
		got[n.ID] = n.Parent
	}
	for id, parent := range want {
		if p, ok := got[id]; !ok || p != parent {
			t.Errorf("node %s: parent %q present=%v, want parent %q", id, p, ok, parent)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d nodes, want %d: %v", len(got), len(want), got)
	}
	if n, _ := s.Node("SlowDouble1"); n.DataType != plc.Double || n.Interval != 10*time.Second {
		t.Errorf("SlowDouble1 = %+v, want Double every 10s", n)
	}
}

func TestBasicNodesEvolveEveryCycle(t *testing.T) {
	s, clk := newSim(t, nil)
	prevBool := value[bool](t, s, "AlternatingBoolean")
	flips := 0
	for i := 1; i <= 100; i++ {
		s.Advance(clk.Add(100 * time.Millisecond))
		if got := value[uint32](t, s, "StepUp"); got != uint32(i) {
			t.Fatalf("cycle %d: StepUp = %d, want %d", i, got, i)
		}
		if b := value[bool](t, s, "AlternatingBoolean"); b != prevBool {
			flips++
			prevBool = b
		}
	}
	// 100 cycles with --sc 50: the boolean flips once per phase.
	if flips != 2 {
		t.Errorf("AlternatingBoolean flipped %d times in 100 cycles, want 2", flips)
	}
	if v, _ := s.Value("StepUp"); !v.Source.Equal(clk.Now()) {
		t.Errorf("StepUp source time %v, want %v", v.Source, clk.Now())
	}
}

func TestAnomaliesHaveOPCPLCShape(t *testing.T) {
	s, clk := newSim(t, nil)
	spikes, dips := 0, 0
	for i := 0; i < 500; i++ { // 10 phases of 50 cycles
		s.Advance(clk.Add(100 * time.Millisecond))
		sp, dp := value[float64](t, s, "SpikeData"), value[float64](t, s, "DipData")
		switch {
		case sp == 1000:
			spikes++
		case math.Abs(sp) > 100.0001:
			t.Fatalf("SpikeData %g outside the sine amplitude", sp)
		}
		switch {
		case dp == -1000:
			dips++
		case math.Abs(dp) > 100.0001:
			t.Fatalf("DipData %g outside the sine amplitude", dp)
		}
	}
	if spikes != 10 || dips != 10 {
		t.Errorf("spikes=%d dips=%d in 10 phases, want one per phase", spikes, dips)
	}
	pos, neg := value[float64](t, s, "PositiveTrendData"), value[float64](t, s, "NegativeTrendData")
	if pos <= 100 || neg >= 100 {
		t.Errorf("after 10 phases PositiveTrendData=%g NegativeTrendData=%g, want >100 and <100", pos, neg)
	}
}

func TestFastNodesStepAtTheirRateAndBadNodeCyclesStatus(t *testing.T) {
	s, clk := newSim(t, func(c *plc.Config) { c.Fast.Count = 2; c.Fast.Rate = 250 * time.Millisecond; c.NoData = true })
	var statuses []uint32
	var noValue int
	for i := 1; i <= 10; i++ {
		s.Advance(clk.Add(250 * time.Millisecond))
		if got := value[uint32](t, s, "FastUInt2"); got != uint32(i) {
			t.Fatalf("step %d: FastUInt2 = %d, want %d", i, got, i)
		}
		v, _ := s.Value("BadFastUInt1")
		statuses = append(statuses, v.Status)
		if !v.HasValue {
			noValue++
		}
	}
	want := []uint32{0, 0, 0, plc.StatusUncertainLastUsableValue, 0, 0, 0, plc.StatusUncertainLastUsableValue, plc.StatusBadDataLost, plc.StatusBadNoCommunication}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("BadFastUInt1 statuses %x, want %x", statuses, want)
		}
	}
	if noValue != 1 {
		t.Errorf("BadFastUInt1 had no value %d times, want once (BadNoCommunication)", noValue)
	}
	// After the value-less step the bad node continues from its last value.
	s.Advance(clk.Add(250 * time.Millisecond))
	if v, _ := s.Value("BadFastUInt1"); !v.HasValue || v.V.(uint32) != 10 {
		t.Errorf("BadFastUInt1 after BadNoCommunication = %+v, want Good 10", v)
	}
}

func TestLoadNodeTypes(t *testing.T) {
	for _, tc := range []struct {
		typ   plc.NodeType
		check func(t *testing.T, before, after any)
	}{
		{plc.TypeDouble, func(t *testing.T, b, a any) {
			if d := a.(float64) - b.(float64); math.Abs(d-0.1) > 1e-9 {
				t.Errorf("Double stepped by %g, want 0.1", d)
			}
		}},
		{plc.TypeBool, func(t *testing.T, b, a any) {
			if a.(bool) == b.(bool) {
				t.Errorf("Bool did not toggle")
			}
		}},
		{plc.TypeUIntArray, func(t *testing.T, b, a any) {
			ba, aa := b.([]uint32), a.([]uint32)
			if len(aa) != 32 || aa[31] != ba[31]+1 || aa[0] != ba[0]+1 {
				t.Errorf("UIntArray %v -> %v, want 32 values each +1", ba, aa)
			}
		}},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			s, clk := newSim(t, func(c *plc.Config) { c.Slow.Type = tc.typ; c.Slow.Rate = time.Second })
			id := "Slow" + string(tc.typ) + "1"
			s.Advance(clk.Add(time.Second))
			before, _ := s.Value(id)
			s.Advance(clk.Add(time.Second))
			after, _ := s.Value(id)
			tc.check(t, before.V, after.V)
		})
	}
}

func TestUIntWrapsIntoRangeAndRandomizeStaysInRange(t *testing.T) {
	s, clk := newSim(t, func(c *plc.Config) {
		c.Fast = plc.LoadNodes{Count: 1, Rate: time.Second, Type: plc.TypeUInt, Min: 5, Max: 7, Step: 1}
		c.Slow = plc.LoadNodes{Count: 1, Rate: time.Second, Type: plc.TypeUInt, Min: 10, Max: 20, Randomize: true}
	})
	var seq []uint32
	for range 6 {
		s.Advance(clk.Add(time.Second))
		seq = append(seq, value[uint32](t, s, "FastUInt1"))
		if r := value[uint32](t, s, "SlowUInt1"); r < 10 || r > 20 {
			t.Fatalf("random SlowUInt1 = %d outside [10,20]", r)
		}
	}
	want := []uint32{6, 7, 5, 6, 7, 5}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("FastUInt1 sequence %v, want %v", seq, want)
		}
	}
}

func TestRunAdvancesOnTheClockAndNotifies(t *testing.T) {
	s, clk := newSim(t, func(c *plc.Config) {
		c.NoData = true
		c.NoSpikes, c.NoDips, c.NoPosTrend, c.NoNegTrend = true, true, true, true
	})
	changed := make(chan []string, 10)
	s.OnChange(func(ids []string, _ time.Time) { changed <- ids })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	deadline := time.After(5 * time.Second)
	for {
		clk.Add(time.Second)
		select {
		case ids := <-changed:
			if strings.Join(ids, ",") != "FastUInt1,BadFastUInt1" {
				t.Errorf("changed ids %v, want FastUInt1,BadFastUInt1", ids)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatal("Run did not advance the simulation within 5 s of fake time steps")
		}
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	cfg := plc.DefaultConfig()
	cfg.CycleTime = 0
	cfg.CycleCount = -1
	cfg.Fast.Count = -2
	cfg.Slow.Type = "Float"
	cfg.Slow.Min, cfg.Slow.Max = 10, 5
	cfg.GUIDNodes = -1
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{"CycleTime (--ct)", "CycleCount (--sc)", "Fast.Count (--fn)", "Slow.Type (--st)", "Slow.Max (--stu)", "GUIDNodes (--gn)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestAdvanceCatchingUpNotifiesEveryStepAtItsTime(t *testing.T) {
	s, clk := newSim(t, func(c *plc.Config) {
		c.NoData, c.NoSpikes, c.NoDips, c.NoPosTrend, c.NoNegTrend = true, true, true, true, true
		c.Fast.Rate = 100 * time.Millisecond
	})
	start := clk.Now()
	var got []uint32
	var at []time.Duration
	s.OnChange(func(ids []string, when time.Time) {
		if ids[0] != "FastUInt1" {
			return
		}
		v, _ := s.Value("FastUInt1")
		got = append(got, v.V.(uint32))
		at = append(at, when.Sub(start))
	})
	s.Advance(clk.Add(350 * time.Millisecond)) // three steps late at once
	if len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("listener saw %v, want 1,2,3", got)
	}
	for i, d := range at {
		if want := time.Duration(i+1) * 100 * time.Millisecond; d != want {
			t.Errorf("step %d notified at +%v, want +%v", i+1, d, want)
		}
	}
}

func TestStepsFallOnMultiplesOfTheirPeriod(t *testing.T) {
	at := time.Unix(1000, 130*int64(time.Millisecond))
	if got := plc.Aligned(at, 100*time.Millisecond); !got.Equal(time.Unix(1000, 200*int64(time.Millisecond))) {
		t.Errorf("Aligned = %v", got)
	}
	if got := plc.Aligned(time.Unix(1000, 0), time.Second); !got.Equal(time.Unix(1001, 0)) {
		t.Errorf("Aligned on a boundary = %v, want the next one", got)
	}
}
