package plc

import (
	"errors"
	"fmt"
	"time"
)

// Errors of Call and Write; the server maps them to OPC UA status codes.
var (
	ErrUnknownNode  = errors.New("no such node")
	ErrNotMethod    = errors.New("node is not a method")
	ErrNotWritable  = errors.New("node is not writable")
	ErrTypeMismatch = errors.New("value does not have the variable's data type")
)

// method adds the method id to the Methods folder (OPC PLC's OpcPlc/Methods, string id =
// browse name) with the action run, which is called with s.mu held and returns the keys
// of the variables it changed.
func (s *Simulator) method(id, desc string, run func(now time.Time) []string) {
	s.add(&Node{ID: id, Name: id, Parent: "Methods", Method: true, Description: desc})
	s.methods[Key(IDString, id)] = run
}

// loadMethods adds Start/StopUpdate<name>Nodes, which resume and pause the steps of a
// load node group (good and bad nodes alike, as in OPC PLC).
func (s *Simulator) loadMethods(name string, g *group) {
	lower := map[string]string{"Slow": "slow", "Fast": "fast"}[name]
	s.method("StopUpdate"+name+"Nodes", "Stop the increase of value of "+lower+" nodes", func(time.Time) []string { g.stopped = true; return nil })
	s.method("StartUpdate"+name+"Nodes", "Start the increase of value of "+lower+" nodes", func(time.Time) []string { g.stopped = false; return nil })
}

// Methods returns the method nodes.
func (s *Simulator) Methods() []*Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Node
	for _, n := range s.nodes {
		if n.Method {
			out = append(out, n)
		}
	}
	return out
}

// Call runs the method with key id. The variables it changes are reported to the
// OnChange listeners with the call's time.
func (s *Simulator) Call(id string) error {
	s.mu.Lock()
	n, ok := s.byID[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("call %q: %w", id, ErrUnknownNode)
	}
	run, ok := s.methods[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("call %s: %w", n.Name, ErrNotMethod)
	}
	now := s.clock.Now()
	s.notifyLocked(run(now), now)
	return nil
}

// Write sets the value of the writable variable with key id. v must have the Go type
// of the variable's data type (uint32 for UInt32, string for String, …); the value
// becomes Good with the write's time as its source timestamp and is reported to the
// OnChange listeners. Later steps continue from it (StepUp counts on from a written value).
func (s *Simulator) Write(id string, v any) error {
	s.mu.Lock()
	n, ok := s.byID[id]
	switch {
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("write %q: %w", id, ErrUnknownNode)
	case !n.Variable() || !n.Writable:
		s.mu.Unlock()
		return fmt.Errorf("write %s: %w", n.Name, ErrNotWritable)
	case !sameType(s.values[n.index].V, v, n):
		s.mu.Unlock()
		return fmt.Errorf("write %s: %T: %w", n.Name, v, ErrTypeMismatch)
	}
	now := s.clock.Now()
	ids := []string{s.set(n, v, StatusGood, true, now)}
	s.notifyLocked(ids, now)
	return nil
}

// sameType says whether v may replace cur as the value of n.
func sameType(cur, v any, n *Node) bool {
	switch v.(type) {
	case bool:
		return n.DataType == Boolean && !n.Array
	case int32:
		return n.DataType == Int32 && !n.Array
	case uint32:
		return n.DataType == UInt32 && !n.Array
	case float64:
		return n.DataType == Double && !n.Array
	case string:
		return n.DataType == String && !n.Array
	case []byte:
		return n.DataType == ByteString && !n.Array
	case ByteArray:
		return n.DataType == Byte && n.Array
	case []uint32:
		old, _ := cur.([]uint32)
		return n.DataType == UInt32 && n.Array && len(v.([]uint32)) == len(old)
	}
	return false
}
