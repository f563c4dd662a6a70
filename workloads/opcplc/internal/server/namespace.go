package server

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

// plcNamespace exposes the simulation as the OPC PLC namespace.
type plcNamespace struct {
	sim      *plc.Simulator
	ns0      *ns0 // reference type hierarchy
	id       uint16
	nodes    map[string]*plc.Node // by plc key
	children map[string][]*plc.Node
	root     *plc.Node
}

func newPLCNamespace(sim *plc.Simulator, idx uint16, ns0 *ns0) *plcNamespace {
	ns := &plcNamespace{sim: sim, ns0: ns0, id: idx, nodes: map[string]*plc.Node{}, children: map[string][]*plc.Node{}}
	for _, n := range sim.Nodes() {
		ns.nodes[n.Key()] = n
		if n.Parent == "" {
			ns.root = n
			continue
		}
		ns.children[n.Parent] = append(ns.children[n.Parent], n)
	}
	return ns
}

// key is the simulator's key of an OPC PLC NodeId (string, GUID or opaque identifier).
func (ns *plcNamespace) key(nid *ua.NodeID) (string, bool) {
	if nid == nil || nid.Namespace() != ns.id {
		return "", false
	}
	switch nid.Type() {
	case ua.NodeIDTypeString:
		return plc.Key(plc.IDString, nid.StringID()), true
	case ua.NodeIDTypeGUID:
		return plc.Key(plc.IDGUID, strings.ToUpper(nid.StringID())), true
	case ua.NodeIDTypeByteString:
		b, err := base64.StdEncoding.DecodeString(nid.StringID())
		return plc.Key(plc.IDOpaque, string(b)), err == nil
	}
	return "", false
}

func (ns *plcNamespace) lookup(nid *ua.NodeID) *plc.Node {
	k, ok := ns.key(nid)
	if !ok {
		return nil
	}
	return ns.nodes[k]
}

func (ns *plcNamespace) nodeID(n *plc.Node) *ua.NodeID {
	switch n.IDType {
	case plc.IDGUID:
		return ua.NewGUIDNodeID(ns.id, n.ID)
	case plc.IDOpaque:
		return ua.NewByteStringNodeID(ns.id, []byte(n.ID))
	}
	return ua.NewStringNodeID(ns.id, n.ID)
}

func (ns *plcNamespace) expandedID(n *plc.Node) *ua.ExpandedNodeID {
	return ua.NewExpandedNodeID(ns.nodeID(n), "", 0)
}

func typeDefinition(n *plc.Node) uint32 {
	switch {
	case n.Folder:
		return id.FolderType
	case n.Method:
		return 0 // methods have no type definition
	}
	return id.BaseDataVariableType
}

func nodeClass(n *plc.Node) ua.NodeClass {
	switch {
	case n.Folder:
		return ua.NodeClassObject
	case n.Method:
		return ua.NodeClassMethod
	}
	return ua.NodeClassVariable
}

// accessLevel is OPC PLC's: CurrentRead, and CurrentWrite for the writable variables.
func accessLevel(n *plc.Node) byte {
	if n.Writable {
		return byte(ua.AccessLevelTypeCurrentRead | ua.AccessLevelTypeCurrentWrite)
	}
	return byte(ua.AccessLevelTypeCurrentRead)
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
		val := v.V
		if b, ok := val.(plc.ByteArray); ok {
			val = ua.ByteArray(b) // an array of Byte, not a ByteString
		}
		variant, err := ua.NewVariant(val)
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
	if dv := baseAttribute(attr, ns.nodeID(n), nodeClass(n), &ua.QualifiedName{NamespaceIndex: ns.id, Name: n.Name}, n.DisplayName(), n.Description); dv != nil {
		return dv
	}
	switch {
	case n.Folder:
		if attr == ua.AttributeIDEventNotifier {
			return goodValue(byte(0))
		}
		return badValue(ua.StatusBadAttributeIDInvalid)
	case n.Method:
		if attr == ua.AttributeIDExecutable || attr == ua.AttributeIDUserExecutable {
			return goodValue(true)
		}
		return badValue(ua.StatusBadAttributeIDInvalid)
	}
	switch attr {
	case ua.AttributeIDValue:
		v, _ := ns.sim.Value(n.Key())
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
		return goodValue(accessLevel(n))
	case ua.AttributeIDMinimumSamplingInterval:
		return goodValue(float64(0))
	case ua.AttributeIDHistorizing:
		return goodValue(false)
	}
	return badValue(ua.StatusBadAttributeIDInvalid)
}

type ref struct {
	typ     uint32
	forward bool
	target  *ua.ExpandedNodeID
	name    string
	display string
	nsIdx   uint16
	class   ua.NodeClass
	typeDef uint32
}

// childRef is the reference type from a folder to its child, as in OPC PLC: folders and
// variables are organized, methods are components (of the Methods folder).
func childRef(c *plc.Node) uint32 {
	if c.Method {
		return id.HasComponent
	}
	return id.Organizes
}

// refsOf lists every reference of n, forward and inverse, each once and with the same
// type in both directions.
func (ns *plcNamespace) refsOf(n *plc.Node) []ref {
	var out []ref
	if td := typeDefinition(n); td != 0 {
		name := "BaseDataVariableType"
		if t := ns.ns0.nodes[td]; t != nil {
			name = t.browse
		}
		out = append(out, ref{typ: id.HasTypeDefinition, forward: true, target: ua.NewNumericExpandedNodeID(0, td), name: name, class: nodeClass0(ns.ns0, td)})
	}
	if n.Parent == "" {
		out = append(out, ref{typ: id.Organizes, target: ua.NewNumericExpandedNodeID(0, id.ObjectsFolder), name: "Objects", class: ua.NodeClassObject, typeDef: id.FolderType})
	} else {
		p := ns.nodes[plc.Key(plc.IDString, n.Parent)]
		out = append(out, ref{typ: childRef(n), target: ns.expandedID(p), name: p.Name, nsIdx: ns.id, class: ua.NodeClassObject, typeDef: id.FolderType})
	}
	for _, c := range ns.children[n.ID] {
		out = append(out, ref{typ: childRef(c), forward: true, target: ns.expandedID(c), name: c.Name, display: c.DisplayName(), nsIdx: ns.id, class: nodeClass(c), typeDef: typeDefinition(c)})
	}
	return out
}

func nodeClass0(ns *ns0, nid uint32) ua.NodeClass {
	if n := ns.nodes[nid]; n != nil {
		return n.class
	}
	return ua.NodeClassUnspecified
}

func (ns *plcNamespace) Browse(bd *ua.BrowseDescription) *ua.BrowseResult {
	n := ns.lookup(bd.NodeID)
	if n == nil {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown, References: []*ua.ReferenceDescription{}}
	}
	want, code := refTypeFilter(ns.ns0, bd.ReferenceTypeID)
	if code != ua.StatusOK {
		return &ua.BrowseResult{StatusCode: code, References: []*ua.ReferenceDescription{}}
	}
	res := &ua.BrowseResult{StatusCode: ua.StatusGood, References: []*ua.ReferenceDescription{}}
	for _, r := range ns.refsOf(n) {
		if !directionMatches(bd.BrowseDirection, r.forward) || !ns.ns0.IsSubtype(r.typ, want, bd.IncludeSubtypes) ||
			(bd.NodeClassMask != 0 && bd.NodeClassMask&uint32(r.class) == 0) {
			continue
		}
		display := r.display
		if display == "" {
			display = r.name
		}
		res.References = append(res.References, masked(&ua.ReferenceDescription{
			ReferenceTypeID: ua.NewNumericNodeID(0, r.typ),
			IsForward:       r.forward,
			NodeID:          r.target,
			BrowseName:      &ua.QualifiedName{NamespaceIndex: r.nsIdx, Name: r.name},
			DisplayName:     text(display),
			NodeClass:       r.class,
			TypeDefinition:  ua.NewNumericExpandedNodeID(0, r.typeDef),
		}, bd.ResultMask))
	}
	return res
}
