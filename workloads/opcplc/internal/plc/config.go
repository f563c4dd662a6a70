// Package plc is the simulation model of opcplc: the OPC PLC-compatible node set
// (OpcPlc/Telemetry/{Basic,Anomaly,Fast,Slow}), the generators that evolve the values,
// and a clock seam so tests drive time by hand.
package plc

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Namespace is the namespace URI of every simulated node, as in Microsoft's OPC PLC.
const Namespace = "http://microsoft.com/Opc/OpcPlc/"

// NodeType is the data type of a slow or fast load node.
type NodeType string

// The load node types OPC PLC offers (--st, --ft).
const (
	TypeUInt      NodeType = "UInt"
	TypeDouble    NodeType = "Double"
	TypeBool      NodeType = "Bool"
	TypeUIntArray NodeType = "UIntArray"
)

// ParseNodeType accepts the OPC PLC spellings case-insensitively.
func ParseNodeType(s string) (NodeType, error) {
	for _, t := range []NodeType{TypeUInt, TypeDouble, TypeBool, TypeUIntArray} {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown node type %q (want UInt, Double, Bool or UIntArray)", s)
}

// LoadNodes configures one set of load nodes (the slow or the fast ones).
type LoadNodes struct {
	Count     int           // number of nodes (--sn/--fn)
	Rate      time.Duration // change period (--sr/--fr, or --vfr for fast)
	Type      NodeType      // --st/--ft
	Min, Max  float64       // value range for UInt/Double (--stl/--stu, --ftl/--ftu); Max 0 = type maximum
	Step      float64       // increment for UInt/Double (--sts/--fts); 0 = type default (1 or 0.1)
	Randomize bool          // random values in [Min,Max] instead of stepping (--str/--ftr)
}

// Config is the whole simulation.
type Config struct {
	CycleTime   time.Duration // --ct: basic and anomaly nodes change every cycle
	CycleCount  int           // --sc: cycles per anomaly phase
	NoData      bool          // --nv: no Basic nodes
	NoSpikes    bool          // --ns
	NoDips      bool          // --nd
	NoPosTrend  bool          // --np
	NoNegTrend  bool          // --nn
	Slow        LoadNodes
	Fast        LoadNodes
	LongID      bool // --lid: Special/LongId3950, a node with a 3950-character string id
	Opaque      bool // --on: Special/Opaque_abc, a node with an opaque (byte string) id
	LongStrings bool // --lsn: Special/LongString10kB…200kB
	GUIDNodes   int  // --gn: nodes with deterministic GUID ids (OPC PLC's default is 1)
}

// MaxGUIDNodes bounds --gn.
const MaxGUIDNodes = 100000

// DefaultConfig is OPC PLC's default simulation.
func DefaultConfig() Config {
	return Config{
		CycleTime:  100 * time.Millisecond,
		CycleCount: 50,
		Slow:       LoadNodes{Count: 1, Rate: 10 * time.Second, Type: TypeUInt},
		Fast:       LoadNodes{Count: 1, Rate: time.Second, Type: TypeUInt},
		GUIDNodes:  1,
	}
}

// Validate reports every problem of c at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	if c.CycleTime <= 0 {
		errs = append(errs, fmt.Errorf("CycleTime (--ct): must be > 0, got %s", c.CycleTime))
	}
	if c.CycleCount <= 0 {
		errs = append(errs, fmt.Errorf("CycleCount (--sc): must be > 0, got %d", c.CycleCount))
	}
	if c.GUIDNodes < 0 || c.GUIDNodes > MaxGUIDNodes {
		errs = append(errs, fmt.Errorf("GUIDNodes (--gn): must be in 0..%d, got %d", MaxGUIDNodes, c.GUIDNodes))
	}
	errs = append(errs, c.Slow.validate("Slow", "s"), c.Fast.validate("Fast", "f"))
	return errors.Join(errs...)
}

func (l LoadNodes) validate(name, p string) error {
	var errs []error
	if l.Count < 0 {
		errs = append(errs, fmt.Errorf("%s.Count (--%sn): must be >= 0, got %d", name, p, l.Count))
	}
	if l.Count > 0 && l.Rate <= 0 {
		errs = append(errs, fmt.Errorf("%s.Rate (--%sr): must be > 0, got %s", name, p, l.Rate))
	}
	if _, err := ParseNodeType(string(l.Type)); err != nil {
		errs = append(errs, fmt.Errorf("%s.Type (--%st): %w", name, p, err))
	}
	if l.Step < 0 {
		errs = append(errs, fmt.Errorf("%s.Step (--%sts): must be >= 0, got %g", name, p, l.Step))
	}
	if l.Min < 0 && l.Type == TypeUInt {
		errs = append(errs, fmt.Errorf("%s.Min (--%stl): must be >= 0 for UInt, got %g", name, p, l.Min))
	}
	if l.Max != 0 && l.Max < l.Min {
		errs = append(errs, fmt.Errorf("%s.Max (--%stu): %g is below Min %g", name, p, l.Max, l.Min))
	}
	if l.Randomize && l.Max != 0 && l.Max == l.Min {
		errs = append(errs, fmt.Errorf("%s.Randomize (--%str): range %g..%g leaves no room for random values", name, p, l.Min, l.Max))
	}
	return errors.Join(errs...)
}
