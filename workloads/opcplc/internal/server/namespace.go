package server

import (
	"time"

	"github.com/gopcua/opcua/id"
	gs "github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

// plcNamespace exposes the simulation as an OPC UA namespace (gopcua's NameSpace).
type plcNamespace struct {
	sim      *plc.Simulator
	id       uint16
	nodes    map[string]*plc.Node
	children map[string][]*plc.Node
	root     *plc.Node
}

func newPLCNamespace(sim *plc.Simulator) *plcNamespace {
	ns := &plcNamespace{sim: sim, nodes: map[string]*plc.Node{}, children: map[string][]*plc.Node{}}
	for _, n := range sim.Nodes() {
		ns.nodes[n.ID] = n
		if n.Parent == "" {
			ns.root = n
			continue
		}
		ns.children[n.Parent] = append(ns.children[n.Parent], n)
	}
	return ns
}

func (ns *plcNamespace) Name() string                { return plc.Namespace }
func (ns *plcNamespace) ID() uint16                  { return ns.id }
func (ns *plcNamespace) SetID(id uint16)             { ns.id = id }
func (ns *plcNamespace) AddNode(n *gs.Node) *gs.Node { return n }
func (ns *plcNamespace) Objects() *gs.Node           { return ns.gsNode(ns.root) }
func (ns *plcNamespace) Root() *gs.Node              { return ns.gsNode(ns.root) }

func (ns *plcNamespace) SetAttribute(*ua.NodeID, ua.AttributeID, *ua.DataValue) ua.StatusCode {
	return ua.StatusBadNotWritable
}

func (ns *plcNamespace) lookup(nid *ua.NodeID) *plc.Node {
	if nid == nil || nid.Namespace() != ns.id || nid.Type() != ua.NodeIDTypeString {
		return nil
	}
	return ns.nodes[nid.StringID()]
}

func (ns *plcNamespace) nodeID(n *plc.Node) *ua.NodeID { return ua.NewStringNodeID(ns.id, n.ID) }

func typeDefinition(n *plc.Node) uint32 {
	if n.Folder {
		return id.FolderType
	}
	return id.BaseDataVariableType
}

func nodeClass(n *plc.Node) ua.NodeClass {
	if n.Folder {
		return ua.NodeClassObject
	}
	return ua.NodeClassVariable
}

// Node returns a gopcua node for n, used by gopcua's own namespace-0 browse and
// TranslateBrowsePaths; our Browse and Read never go through it.
func (ns *plcNamespace) Node(nid *ua.NodeID) *gs.Node {
	return ns.gsNode(ns.lookup(nid))
}

func (ns *plcNamespace) gsNode(n *plc.Node) *gs.Node {
	if n == nil {
		return nil
	}
	attrs := gs.Attributes{
		ua.AttributeIDNodeClass:   gs.DataValueFromValue(uint32(nodeClass(n))),
		ua.AttributeIDBrowseName:  gs.DataValueFromValue(&ua.QualifiedName{NamespaceIndex: ns.id, Name: n.Name}),
		ua.AttributeIDDisplayName: gs.DataValueFromValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: n.Name}),
	}
	refs := gs.References{{
		ReferenceTypeID: ua.NewNumericNodeID(0, id.HasTypeDefinition),
		IsForward:       true,
		NodeID:          ua.NewNumericExpandedNodeID(0, typeDefinition(n)),
		BrowseName:      &ua.QualifiedName{},
		DisplayName:     &ua.LocalizedText{},
		TypeDefinition:  ua.NewNumericExpandedNodeID(0, 0),
	}}
	var val gs.ValueFunc
	if !n.Folder {
		nid := ns.nodeID(n)
		val = func() *ua.DataValue { return ns.Attribute(nid, ua.AttributeIDValue) }
	}
	return gs.NewNode(ns.nodeID(n), attrs, refs, val)
}

func badValue(code ua.StatusCode) *ua.DataValue {
	return &ua.DataValue{EncodingMask: ua.DataValueStatusCode | ua.DataValueServerTimestamp, Status: code, ServerTimestamp: time.Now()}
}

func goodValue(v any) *ua.DataValue {
	variant, err := ua.NewVariant(v)
	if err != nil {
		return badValue(ua.StatusBadInternalError)
	}
	return &ua.DataValue{EncodingMask: ua.DataValueValue | ua.DataValueServerTimestamp, Value: variant, ServerTimestamp: time.Now()}
}

// simValue turns a simulated value into a DataValue with source and server timestamps.
func simValue(v plc.Value) *ua.DataValue {
	dv := &ua.DataValue{SourceTimestamp: v.Source, ServerTimestamp: time.Now(), Status: ua.StatusCode(v.Status),
		EncodingMask: ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp}
	if v.Status != 0 {
		dv.EncodingMask |= ua.DataValueStatusCode
	}
	if v.HasValue {
		variant, err := ua.NewVariant(v.V)
		if err != nil {
			return badValue(ua.StatusBadInternalError)
		}
		dv.Value = variant
		dv.EncodingMask |= ua.DataValueValue
	}
	return dv
}

func (ns *plcNamespace) Attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	n := ns.lookup(nid)
	if n == nil {
		return badValue(ua.StatusBadNodeIDUnknown)
	}
	switch attr {
	case ua.AttributeIDNodeID:
		return goodValue(ns.nodeID(n))
	case ua.AttributeIDNodeClass:
		return goodValue(int32(nodeClass(n)))
	case ua.AttributeIDBrowseName:
		return goodValue(&ua.QualifiedName{NamespaceIndex: ns.id, Name: n.Name})
	case ua.AttributeIDDisplayName:
		return goodValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: n.Name})
	case ua.AttributeIDDescription:
		return goodValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: n.Description})
	case ua.AttributeIDWriteMask, ua.AttributeIDUserWriteMask:
		return goodValue(uint32(0))
	}
	if n.Folder {
		if attr == ua.AttributeIDEventNotifier {
			return goodValue(byte(0))
		}
		return badValue(ua.StatusBadAttributeIDInvalid)
	}
	switch attr {
	case ua.AttributeIDValue:
		v, _ := ns.sim.Value(n.ID)
		return simValue(v)
	case ua.AttributeIDDataType:
		return goodValue(ua.NewNumericNodeID(0, uint32(n.DataType)))
	case ua.AttributeIDValueRank:
		if n.Array {
			return goodValue(int32(1))
		}
		return goodValue(int32(-1))
	case ua.AttributeIDArrayDimensions:
		if n.Array {
			return goodValue([]uint32{0})
		}
		return goodValue([]uint32{})
	case ua.AttributeIDAccessLevel, ua.AttributeIDUserAccessLevel:
		return goodValue(byte(ua.AccessLevelTypeCurrentRead))
	case ua.AttributeIDMinimumSamplingInterval:
		return goodValue(float64(0))
	case ua.AttributeIDHistorizing:
		return goodValue(false)
	}
	return badValue(ua.StatusBadAttributeIDInvalid)
}

// isSubtypeOf says whether reference type ref matches the requested type want.
func isSubtypeOf(ref, want uint32, includeSubtypes bool) bool {
	if want == 0 || ref == want {
		return true
	}
	if !includeSubtypes {
		return false
	}
	parents := map[uint32]uint32{
		id.HasComponent: id.Aggregates, id.Aggregates: id.HasChild, id.HasChild: id.HierarchicalReferences,
		id.Organizes: id.HierarchicalReferences, id.HierarchicalReferences: id.References,
		id.HasTypeDefinition: id.NonHierarchicalReferences, id.NonHierarchicalReferences: id.References,
	}
	for r := ref; r != 0; r = parents[r] {
		if r == want {
			return true
		}
	}
	return false
}

type ref struct {
	typ     uint32
	forward bool
	target  *ua.ExpandedNodeID
	name    string
	nsIdx   uint16
	class   ua.NodeClass
	typeDef uint32
}

func (ns *plcNamespace) refsOf(n *plc.Node) []ref {
	out := []ref{{typ: id.HasTypeDefinition, forward: true, target: ua.NewNumericExpandedNodeID(0, typeDefinition(n)),
		name: map[bool]string{true: "FolderType", false: "BaseDataVariableType"}[n.Folder], class: ua.NodeClassObjectType}}
	if n.Parent == "" {
		out = append(out, ref{typ: id.Organizes, target: ua.NewNumericExpandedNodeID(0, id.ObjectsFolder), name: "Objects", class: ua.NodeClassObject, typeDef: id.FolderType})
	} else {
		p := ns.nodes[n.Parent]
		out = append(out, ref{typ: id.Organizes, target: ua.NewStringExpandedNodeID(ns.id, p.ID), name: p.Name, nsIdx: ns.id, class: ua.NodeClassObject, typeDef: id.FolderType})
	}
	for _, c := range ns.children[n.ID] {
		typ := uint32(id.Organizes)
		if !c.Folder {
			typ = id.HasComponent
		}
		out = append(out, ref{typ: typ, forward: true, target: ua.NewStringExpandedNodeID(ns.id, c.ID), name: c.Name, nsIdx: ns.id, class: nodeClass(c), typeDef: typeDefinition(c)})
	}
	return out
}

func (ns *plcNamespace) Browse(bd *ua.BrowseDescription) *ua.BrowseResult {
	n := ns.lookup(bd.NodeID)
	if n == nil {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
	}
	var want uint32
	if bd.ReferenceTypeID != nil && bd.ReferenceTypeID.Namespace() == 0 {
		want = bd.ReferenceTypeID.IntID()
	}
	res := &ua.BrowseResult{StatusCode: ua.StatusGood, References: []*ua.ReferenceDescription{}}
	for _, r := range ns.refsOf(n) {
		switch {
		case bd.BrowseDirection == ua.BrowseDirectionForward && !r.forward,
			bd.BrowseDirection == ua.BrowseDirectionInverse && r.forward,
			!isSubtypeOf(r.typ, want, bd.IncludeSubtypes),
			bd.NodeClassMask != 0 && bd.NodeClassMask&uint32(r.class) == 0:
			continue
		}
		res.References = append(res.References, &ua.ReferenceDescription{
			ReferenceTypeID: ua.NewNumericNodeID(0, r.typ),
			IsForward:       r.forward,
			NodeID:          r.target,
			BrowseName:      &ua.QualifiedName{NamespaceIndex: r.nsIdx, Name: r.name},
			DisplayName:     &ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: r.name},
			NodeClass:       r.class,
			TypeDefinition:  ua.NewNumericExpandedNodeID(0, r.typeDef),
		})
	}
	return res
}
