package server

import (
	"testing"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// Across the whole of namespace 0: no reference twice, every reference also stored at
// its target in the opposite direction, every variable with a data type, and the
// reference type hierarchy complete enough for browse filters.
func TestNS0ReferencesAreUniqueAndSymmetric(t *testing.T) {
	ns, err := loadNS0()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.nodes) < 4000 {
		t.Fatalf("only %d nodes", len(ns.nodes))
	}
	for _, n := range ns.nodes {
		seen := map[ref0]bool{}
		for _, r := range n.refs {
			if seen[r] {
				t.Errorf("i=%d: reference %+v twice", n.id, r)
			}
			seen[r] = true
			back := false
			for _, b := range ns.nodes[r.target].refs {
				if b == (ref0{typ: r.typ, forward: !r.forward, target: n.id}) {
					back = true
				}
			}
			if !back {
				t.Errorf("i=%d -> i=%d (%d, forward %v) has no reverse", n.id, r.target, r.typ, r.forward)
			}
		}
		if (n.class == ua.NodeClassVariable || n.class == ua.NodeClassVariableType) && n.dataType == nil {
			t.Errorf("variable i=%d has no data type", n.id)
		}
	}
	for _, c := range []struct{ ref, want uint32 }{
		{id.HasProperty, id.HierarchicalReferences}, {id.HasComponent, id.Aggregates}, {id.Organizes, id.References},
		{id.HasTypeDefinition, id.NonHierarchicalReferences}, {id.HasOrderedComponent, id.HasChild},
	} {
		if !ns.IsSubtype(c.ref, c.want, true) || ns.IsSubtype(c.ref, c.want, false) {
			t.Errorf("i=%d subtype of i=%d: with subtypes %v, without %v", c.ref, c.want, ns.IsSubtype(c.ref, c.want, true), ns.IsSubtype(c.ref, c.want, false))
		}
	}
	if ns.IsSubtype(id.HasTypeDefinition, id.HierarchicalReferences, true) {
		t.Error("HasTypeDefinition counted as hierarchical")
	}
	// The optional Server components opcplc does not implement are not reachable from it.
	for _, r := range ns.nodes[id.Server].refs {
		if unsupported0[r.target] {
			t.Errorf("Server references unsupported i=%d", r.target)
		}
	}
	// Values the node set carries come through: EnumStrings and method arguments.
	if v, ok := ns.nodes[id.ServerState_EnumStrings].value.([]*ua.LocalizedText); !ok || len(v) != 8 || v[0].Text != "Running" {
		t.Errorf("ServerState EnumStrings %#v", ns.nodes[id.ServerState_EnumStrings].value)
	}
	if v, ok := ns.nodes[id.Server_GetMonitoredItems_InputArguments].value.([]*ua.ExtensionObject); !ok || len(v) != 1 || v[0].Value.(*ua.Argument).Name != "SubscriptionId" {
		t.Errorf("GetMonitoredItems InputArguments %#v", ns.nodes[id.Server_GetMonitoredItems_InputArguments].value)
	}
}
