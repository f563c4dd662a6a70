package plc

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// OPC UA status codes the simulation produces (OPC 10000-4 §7.39).
const (
	StatusGood                     uint32 = 0
	StatusUncertainLastUsableValue uint32 = 0x40900000
	StatusBadDataLost              uint32 = 0x809D0000
	StatusBadNoCommunication       uint32 = 0x80310000
)

// DataType is the OPC UA built-in type of a variable.
type DataType int

// The built-in types the simulation uses; the numbers are the OPC UA DataType node ids.
const (
	Boolean    DataType = 1
	Byte       DataType = 3
	Int32      DataType = 6
	UInt32     DataType = 7
	Double     DataType = 11
	String     DataType = 12
	ByteString DataType = 15
)

// IDType is the kind of identifier of a node's NodeId.
type IDType int

// The identifier kinds OPC PLC uses.
const (
	IDString IDType = iota // s=ID
	IDGUID                 // g=ID (ID is the upper-case canonical GUID)
	IDOpaque               // b=base64(ID) (ID holds the raw bytes)
)

// Key is the simulator's key of the node with identifier id of kind t (what Node,
// Value, Write, Call and OnChange use). A string identifier is its own key.
func Key(t IDType, id string) string {
	switch t {
	case IDGUID:
		return "\x00g" + id
	case IDOpaque:
		return "\x00b" + id
	}
	return id
}

// Node is one node of the simulated address space: a folder, a variable or a method.
type Node struct {
	ID          string        // identifier (see IDType): nsu=Namespace;s=ID by default
	IDType      IDType        // kind of identifier
	Name        string        // browse name
	Display     string        // display name when it differs from Name
	Parent      string        // ID of the parent folder; "" = hangs under the Objects folder
	Folder      bool          // a folder (object)
	Method      bool          // a method (of the Methods folder), called with no arguments
	Writable    bool          // variables only: clients may write the Value
	Config      bool          // a setting of the simulator (SimulatorConfiguration), not telemetry: not in /pn.json
	DataType    DataType      // variables only
	Array       bool          // one-dimensional array value
	Description string        // variables and methods
	Interval    time.Duration // how often the value changes (the publishing hint in /pn.json)
	index       int
}

// Key is the node's key in the simulator (see the package function Key).
func (n *Node) Key() string { return Key(n.IDType, n.ID) }

// DisplayName is the node's display name.
func (n *Node) DisplayName() string {
	if n.Display != "" {
		return n.Display
	}
	return n.Name
}

// Variable says whether the node is a variable (has a Value).
func (n *Node) Variable() bool { return !n.Folder && !n.Method }

// ByteArray is a value of DataType Byte with Array set (an OPC UA array of Byte, not a ByteString).
type ByteArray []byte

// Value is a variable's current value. HasValue is false when a Bad status carries no value.
type Value struct {
	V        any // bool, int32, uint32, float64, string, []byte, ByteArray or []uint32 (never mutated after it is stored)
	HasValue bool
	Status   uint32
	Source   time.Time
}

// Clock is the time seam: real time in production, a fake clock in tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Simulator holds the node set and evolves it. It is safe for concurrent use.
type Simulator struct {
	cfg   Config
	clock Clock
	rnd   *rand.Rand

	mu        sync.RWMutex
	nodes     []*Node
	byID      map[string]*Node // by Key
	values    []Value
	groups    []*group
	methods   map[string]func(now time.Time) []string // by Key; called with s.mu held, returns the keys it changed
	listeners []func(ids []string, at time.Time)
	updates   uint64
}

type group struct {
	name    string
	period  time.Duration
	next    time.Time
	step    func(now time.Time) []string // called with s.mu held
	stopped bool                         // StopUpdate…Nodes: the steps are skipped
}

// New builds the node set of cfg. seed makes the random generators reproducible.
func New(cfg Config, clock Clock, seed uint64) (*Simulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Simulator{cfg: cfg, clock: clock, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), byID: map[string]*Node{}, methods: map[string]func(time.Time) []string{}}
	now := clock.Now()
	s.folder("OpcPlc", "OpcPlc", "")
	s.folder("Telemetry", "Telemetry", "OpcPlc")
	s.folder("Methods", "Methods", "OpcPlc")
	var cyc []func(time.Time) []string
	if !cfg.NoData {
		cyc = append(cyc, s.basic())
	}
	if !(cfg.NoSpikes && cfg.NoDips && cfg.NoPosTrend && cfg.NoNegTrend) {
		cyc = append(cyc, s.anomaly())
	}
	if len(cyc) > 0 {
		s.groups = append(s.groups, &group{name: "cycle", period: cfg.CycleTime, next: Aligned(now, cfg.CycleTime),
			step: func(t time.Time) []string {
				var ids []string
				for _, f := range cyc {
					ids = append(ids, f(t)...)
				}
				return ids
			}})
	}
	for _, l := range []struct {
		name string
		cfg  LoadNodes
	}{{"Slow", cfg.Slow}, {"Fast", cfg.Fast}} {
		if l.cfg.Count == 0 {
			continue
		}
		g := s.load(l.name, l.cfg)
		g.next = Aligned(now, l.cfg.Rate)
		s.groups = append(s.groups, g)
		s.loadMethods(l.name, g)
	}
	if g := s.special(); g != nil {
		g.next = Aligned(now, g.period)
		s.groups = append(s.groups, g)
	}
	for i := range s.values {
		s.values[i].Source = now
	}
	return s, nil
}

// Aligned is the first multiple of period (counted from the Unix epoch) after t. Steps
// fall on these instants, so a consumer can schedule its own work half a period away
// from them (opcplc's subscriptions do), far from every step.
func Aligned(t time.Time, period time.Duration) time.Time {
	return t.Add(period - time.Duration(t.UnixNano()%int64(period)))
}

func (s *Simulator) add(n *Node) *Node {
	n.index = len(s.nodes)
	s.nodes = append(s.nodes, n)
	s.byID[n.Key()] = n
	s.values = append(s.values, Value{})
	return n
}

func (s *Simulator) folder(id, name, parent string) {
	if _, ok := s.byID[id]; !ok {
		s.add(&Node{ID: id, Name: name, Parent: parent, Folder: true})
	}
}

func (s *Simulator) variable(id, parent string, dt DataType, desc string, every time.Duration, initial any) *Node {
	n := s.add(&Node{ID: id, Name: id, Parent: parent, DataType: dt, Description: desc, Interval: every})
	_, n.Array = initial.([]uint32)
	s.values[n.index] = Value{V: initial, HasValue: true}
	return n
}

func (s *Simulator) set(n *Node, v any, status uint32, hasValue bool, t time.Time) string {
	val := Value{V: v, HasValue: hasValue, Status: status, Source: t}
	if !hasValue {
		val.V = nil
	}
	s.values[n.index] = val
	return n.Key()
}

// basic builds StepUp, AlternatingBoolean, RandomSignedInt32 and RandomUnsignedInt32.
func (s *Simulator) basic() func(time.Time) []string {
	ct, sc := s.cfg.CycleTime, s.cfg.CycleCount
	s.folder("Basic", "Basic", "Telemetry")
	stepUp := s.variable("StepUp", "Basic", UInt32, "Constantly increasing value", ct, uint32(0))
	stepUp.Writable = true // OPC PLC: CurrentReadOrWrite
	alt := s.variable("AlternatingBoolean", "Basic", Boolean, "Alternating boolean value", ct*time.Duration(sc), false)
	rs := s.variable("RandomSignedInt32", "Basic", Int32, "Random signed 32 bit integer value", ct, int32(0))
	ru := s.variable("RandomUnsignedInt32", "Basic", UInt32, "Random unsigned 32 bit integer value", ct, uint32(0))
	stepEvery := max(1, sc/50)
	stepCycle, altCycle := sc, sc
	stepUpRunning := true
	s.method("ResetStepUp", "Resets the StepUp counter to 0", func(t time.Time) []string {
		return []string{s.set(stepUp, uint32(0), StatusGood, true, t)}
	})
	s.method("StartStepUp", "Starts the StepUp counter", func(time.Time) []string { stepUpRunning = true; return nil })
	s.method("StopStepUp", "Stops the StepUp counter", func(time.Time) []string { stepUpRunning = false; return nil })
	return func(t time.Time) []string {
		up, _ := s.values[stepUp.index].V.(uint32)
		if stepUpRunning && stepCycle%stepEvery == 0 {
			up++
		}
		if stepCycle--; stepCycle == 0 {
			stepCycle = sc
		}
		b := s.values[alt.index].V.(bool)
		if altCycle%sc == 0 {
			b = !b
		}
		if altCycle--; altCycle == 0 {
			altCycle = sc
		}
		return []string{
			s.set(stepUp, up, StatusGood, true, t),
			s.set(alt, b, StatusGood, true, t),
			s.set(rs, int32(s.rnd.Uint32()), StatusGood, true, t),
			s.set(ru, s.rnd.Uint32()>>1, StatusGood, true, t),
		}
	}
}

// amplitude of the anomaly sine waves and the base of the trends, as in OPC PLC.
const (
	amplitude = 100.0
	trendBase = 100.0
)

// anomaly builds SpikeData, DipData, PositiveTrendData and NegativeTrendData.
func (s *Simulator) anomaly() func(time.Time) []string {
	ct, sc := s.cfg.CycleTime, s.cfg.CycleCount
	s.folder("Anomaly", "Anomaly", "Telemetry")
	type wave struct {
		n            *Node
		sign         float64
		cycle, spike int
	}
	type trend struct {
		n                   *Node
		sign                float64
		cycle, phase, start int
	}
	var waves []*wave
	var trends []*trend
	if !s.cfg.NoSpikes {
		waves = append(waves, &wave{n: s.variable("SpikeData", "Anomaly", Double, "Value with random spikes", ct, 0.0), sign: 1, cycle: sc, spike: 1 + s.rnd.IntN(sc)})
	}
	if !s.cfg.NoDips {
		waves = append(waves, &wave{n: s.variable("DipData", "Anomaly", Double, "Value with random dips", ct, 0.0), sign: -1, cycle: sc, spike: 1 + s.rnd.IntN(sc)})
	}
	if !s.cfg.NoPosTrend {
		trends = append(trends, &trend{n: s.variable("PositiveTrendData", "Anomaly", Double, "Value with a slow positive trend", ct, trendBase), sign: 1, cycle: sc, start: s.rnd.IntN(10)})
	}
	if !s.cfg.NoNegTrend {
		trends = append(trends, &trend{n: s.variable("NegativeTrendData", "Anomaly", Double, "Value with a slow negative trend", ct, trendBase), sign: -1, cycle: sc, start: s.rnd.IntN(10)})
	}
	// ResetTrend (OPC PLC's documented method) restarts both trends at their baseline with a
	// new anomaly phase; ResetPosTrend and ResetNegTrend (current OPC PLC) restart one.
	reset := func(which ...*trend) func(time.Time) []string {
		return func(time.Time) []string {
			for _, tr := range which {
				tr.cycle, tr.phase, tr.start = sc, 0, s.rnd.IntN(10)
			}
			return nil
		}
	}
	if len(trends) > 0 {
		s.method("ResetTrend", "Reset the trend values to their baseline value", reset(trends...))
	}
	for _, tr := range trends {
		if tr.sign > 0 {
			s.method("ResetPosTrend", "Reset the positive trend values to their baseline value", reset(tr))
		} else {
			s.method("ResetNegTrend", "Reset the negative trend values to their baseline value", reset(tr))
		}
	}
	return func(t time.Time) []string {
		var ids []string
		for _, w := range waves {
			v := amplitude * math.Sin(2*math.Pi/float64(sc)*float64(w.cycle))
			if w.cycle == w.spike {
				v = w.sign * amplitude * 10
			}
			if w.cycle--; w.cycle == 0 {
				w.cycle, w.spike = sc, 1+s.rnd.IntN(sc)
			}
			ids = append(ids, s.set(w.n, v, StatusGood, true, t))
		}
		for _, tr := range trends {
			v := trendBase
			if tr.phase >= tr.start {
				v = trendBase + tr.sign*float64(tr.phase-tr.start)/10
			}
			if tr.cycle--; tr.cycle == 0 {
				tr.cycle = sc
				tr.phase++
			}
			ids = append(ids, s.set(tr.n, v, StatusGood, true, t))
		}
		return ids
	}
}

// badSequence is the status cycle of the BadFast…/BadSlow… nodes; false = no value.
var badSequence = []struct {
	status   uint32
	hasValue bool
}{
	{StatusGood, true}, {StatusGood, true}, {StatusGood, true}, {StatusUncertainLastUsableValue, true},
	{StatusGood, true}, {StatusGood, true}, {StatusGood, true}, {StatusUncertainLastUsableValue, true},
	{StatusBadDataLost, true}, {StatusBadNoCommunication, false},
}

// load builds <name><Type>1…N and Bad<name><Type>1 under the folder <name>.
func (s *Simulator) load(name string, l LoadNodes) *group {
	s.folder(name, name, "Telemetry")
	dt, initial := UInt32, any(uint32(l.Min))
	switch l.Type {
	case TypeDouble:
		dt, initial = Double, l.Min
	case TypeBool:
		dt, initial = Boolean, true
	case TypeUIntArray:
		dt, initial = UInt32, make([]uint32, 32)
	}
	var good []*Node
	for i := 1; i <= l.Count; i++ {
		good = append(good, s.variable(fmt.Sprintf("%s%s%d", name, l.Type, i), name, dt, "Constantly increasing value(s)", l.Rate, initial))
	}
	bad := s.variable(fmt.Sprintf("Bad%s%s1", name, l.Type), name, dt, "Constantly increasing value(s) with a cycling status", l.Rate, initial)
	for _, n := range append(good, bad) {
		n.Writable = true // OPC PLC: CurrentReadOrWrite
	}
	badCycle := 0
	last := map[int]any{} // value of a Bad node before its status dropped the value
	next := func(n *Node) any {
		prev := s.values[n.index].V
		if prev == nil {
			prev = last[n.index]
		}
		return s.nextLoadValue(l, prev)
	}
	// OpcPlc/SimulatorConfiguration/<name>NumberOfUpdates limits the updates, as in OPC
	// PLC: < 0 (the default) for ever, 0 none, > 0 that many more (counted down).
	s.folder("SimulatorConfiguration", "SimulatorConfiguration", "OpcPlc")
	limit := s.variable(name+"NumberOfUpdates", "SimulatorConfiguration", Int32,
		"The number of times to update the "+name+" nodes. Set to -1 to update indefinitely.", 0, int32(-1))
	limit.Writable, limit.Config = true, true
	return &group{name: name, period: l.Rate, step: func(t time.Time) []string {
		ids := make([]string, 0, len(good)+2)
		switch left, _ := s.values[limit.index].V.(int32); {
		case left == 0:
			return nil
		case left > 0:
			ids = append(ids, s.set(limit, left-1, StatusGood, true, t))
		}
		for _, n := range good {
			ids = append(ids, s.set(n, next(n), StatusGood, true, t))
		}
		seq := badSequence[badCycle%len(badSequence)]
		badCycle++
		if s.values[bad.index].V != nil {
			last[bad.index] = s.values[bad.index].V
		}
		ids = append(ids, s.set(bad, next(bad), seq.status, seq.hasValue, t))
		return ids
	}}
}

// nextLoadValue is OPC PLC's load node step: UInt +step wrapping into [min,max], Double
// likewise with a 0.1 default step, Bool toggles, UIntArray increments all 32 values.
func (s *Simulator) nextLoadValue(l LoadNodes, prev any) any {
	switch l.Type {
	case TypeBool:
		b, _ := prev.(bool)
		return !b
	case TypeUIntArray:
		old, _ := prev.([]uint32)
		out := make([]uint32, 32)
		for i := range out {
			if i < len(old) {
				out[i] = old[i] + 1
			}
		}
		return out
	case TypeDouble:
		v, _ := prev.(float64)
		hi := l.Max
		if hi == 0 {
			hi = math.MaxFloat64
		}
		if l.Randomize {
			return l.Min + s.rnd.Float64()*(hi-l.Min)
		}
		step := l.Step
		if step == 0 {
			step = 0.1
		}
		if v < l.Min || v+step > hi {
			return l.Min
		}
		return v + step
	default:
		v, _ := prev.(uint32)
		lo, hi := uint64(l.Min), uint64(l.Max)
		if hi == 0 {
			hi = math.MaxUint32
		}
		if l.Randomize {
			for {
				r := uint32(lo + s.rnd.Uint64N(hi-lo+1))
				if r != v || hi == lo {
					return r
				}
			}
		}
		step := uint64(l.Step)
		if step == 0 {
			step = 1
		}
		if uint64(v) < lo || uint64(v)+step > hi {
			return uint32(lo)
		}
		return uint32(uint64(v) + step)
	}
}

// Nodes returns every node, folders first in creation order.
func (s *Simulator) Nodes() []*Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*Node(nil), s.nodes...)
}

// Node returns the node with key id (see Key; a string identifier is its own key).
func (s *Simulator) Node(id string) (*Node, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.byID[id]
	return n, ok
}

// Value returns the current value of the variable with key id.
func (s *Simulator) Value(id string) (Value, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.byID[id]
	if !ok || !n.Variable() {
		return Value{}, false
	}
	return s.values[n.index], true
}

// Updates is the number of value changes made so far.
func (s *Simulator) Updates() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.updates
}

// OnChange registers fn, called after every step, write and method call with the keys
// of the variables that changed and their new source timestamp. fn runs on the goroutine
// that made the change (the simulation's, or a client's for writes and calls), outside
// the simulator's lock; it may run concurrently with itself and must not block.
func (s *Simulator) OnChange(fn func(ids []string, at time.Time)) {
	s.mu.Lock()
	s.listeners = append(s.listeners, fn)
	s.mu.Unlock()
}

// maxCatchUp bounds how many missed periods one Advance replays before it skips ahead.
const maxCatchUp = 10

// Advance runs every step due at or before now, in time order, and notifies the
// listeners after each step, so a listener sees every value even when the simulation
// catches up several steps at once.
func (s *Simulator) Advance(now time.Time) {
	for {
		s.mu.Lock()
		var g *group
		for _, x := range s.groups {
			if now.Sub(x.next) > maxCatchUp*x.period {
				x.next = now.Add(-x.period * (maxCatchUp - 1))
			}
			if !now.Before(x.next) && (g == nil || x.next.Before(g.next)) {
				g = x
			}
		}
		if g == nil {
			s.mu.Unlock()
			return
		}
		at := g.next
		var ids []string
		if !g.stopped {
			ids = g.step(at)
		}
		g.next = g.next.Add(g.period)
		s.notifyLocked(ids, at)
	}
}

// notifyLocked counts the changes and calls the listeners; s.mu must be held and is
// released.
func (s *Simulator) notifyLocked(ids []string, at time.Time) {
	s.updates += uint64(len(ids))
	ls := s.listeners
	s.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	for _, fn := range ls {
		fn(ids, at)
	}
}

// NextDue is when the next step is due.
func (s *Simulator) NextDue() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var t time.Time
	for _, g := range s.groups {
		if t.IsZero() || g.next.Before(t) {
			t = g.next
		}
	}
	return t
}

// Run advances the simulation on the clock until ctx ends.
func (s *Simulator) Run(ctx context.Context) error {
	if len(s.groups) == 0 {
		<-ctx.Done()
		return nil
	}
	for {
		wait := s.NextDue().Sub(s.clock.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-s.clock.After(max(wait, 0)):
			s.Advance(s.clock.Now())
		}
	}
}
