package server

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// ns0 is namespace 0, the standard OPC UA address space, built from the NodeSet2 that
// ships with gopcua (schema.OpcUaNodeSet2), embedded here compressed (nodeset0.xml.gz). Every reference of the node set is stored
// once in each direction, so Browse answers without duplicates and shows the inverse
// references too; every node has the attributes of its node class (OPC 10000-3 §5).
// Values are the node set's own, or come from a provider the server registers (the
// Server object's variables).
type ns0 struct {
	nodes   map[uint32]*node0
	parents map[uint32]uint32 // reference type -> its supertype (HasSubtype)

	mu        sync.RWMutex
	providers map[uint32]func() *ua.DataValue
	links     map[uint32][]link0 // references to nodes of other namespaces
}

type node0 struct {
	id          uint32
	class       ua.NodeClass
	browse      string
	display     string
	desc        string
	dataType    *ua.NodeID
	valueRank   int32
	arrayDims   []uint32
	access      byte
	minSampling float64
	abstract    bool
	symmetric   bool
	inverseName string
	noLoops     bool
	value       any // from the node set; nil = none
	typeDef     uint32
	refs        []ref0
}

type ref0 struct {
	typ     uint32
	forward bool
	target  uint32
}

// XML of a NodeSet2 node; one struct for every node class.
type xmlNode0 struct {
	NodeID          string   `xml:"NodeId,attr"`
	BrowseName      string   `xml:"BrowseName,attr"`
	DataType        string   `xml:"DataType,attr"`
	ValueRank       *int32   `xml:"ValueRank,attr"`
	ArrayDimensions string   `xml:"ArrayDimensions,attr"`
	AccessLevel     *uint8   `xml:"AccessLevel,attr"`
	MinSampling     float64  `xml:"MinimumSamplingInterval,attr"`
	IsAbstract      bool     `xml:"IsAbstract,attr"`
	Symmetric       bool     `xml:"Symmetric,attr"`
	ContainsNoLoops bool     `xml:"ContainsNoLoops,attr"`
	DisplayName     string   `xml:"DisplayName"`
	Description     string   `xml:"Description"`
	InverseName     string   `xml:"InverseName"`
	Refs            []xmlRef `xml:"References>Reference"`
	Value           *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"Value"`
}

type xmlRef struct {
	Type      string `xml:"ReferenceType,attr"`
	IsForward *bool  `xml:"IsForward,attr"`
	Target    string `xml:",chardata"`
}

// nodeElems0 are the NodeSet2 elements of nodes: the class of each, and the rank by
// which nodes are numbered into the address space (reference types first, so that
// every node's references are added in the same order on every start).
var nodeElems0 = map[string]struct {
	class ua.NodeClass
	rank  int
}{
	"UAReferenceType": {ua.NodeClassReferenceType, 0}, "UADataType": {ua.NodeClassDataType, 1},
	"UAObjectType": {ua.NodeClassObjectType, 2}, "UAVariableType": {ua.NodeClassVariableType, 3},
	"UAObject": {ua.NodeClassObject, 4}, "UAVariable": {ua.NodeClassVariable, 5},
	"UAMethod": {ua.NodeClassMethod, 6}, "UAView": {ua.NodeClassView, 7},
}

// unsupported0 are the optional Server components of the node set opcplc does not
// implement (type dictionaries, push certificate management, PubSub, DataSetClasses,
// Resources, role management, history capabilities, namespace metadata): they are left
// out of the address space instead of showing variables without values.
var unsupported0 = map[uint32]bool{
	id.Dictionaries: true, id.ServerConfiguration: true, id.PublishSubscribe: true, 32405: true, 24226: true,
	id.Server_ServerCapabilities_RoleSet: true, id.HistoryServerCapabilities: true, id.Server_Namespaces: true,
}

var (
	ns0Once  sync.Once
	ns0Base  *ns0
	ns0Error error
)

// nodeSet0 is gopcua's schema.OpcUaNodeSet2, gzip-compressed (227 KB instead of 3.4 MB).
// Linking gopcua's schema package put the whole XML in opcplc's binary, and reading it
// at start made all of it resident: 3.4 MiB of opcplc's RSS for the process's life.
// TestEmbeddedNodeSetIsGopcuas keeps it equal to the gopcua module's (-update rewrites
// it after a gopcua upgrade).
//
//go:embed nodeset0.xml.gz
var nodeSet0 []byte

// loadNS0 parses the node set once per process; every server shares the parsed nodes
// (read-only) and gets its own providers.
func loadNS0() (*ns0, error) {
	ns0Once.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(nodeSet0))
		if err != nil {
			ns0Error = fmt.Errorf("namespace 0 node set: %w", err)
			return
		}
		ns0Base, ns0Error = parseNS0(zr)
	})
	if ns0Error != nil {
		return nil, ns0Error
	}
	return &ns0{nodes: ns0Base.nodes, parents: ns0Base.parents, providers: map[uint32]func() *ua.DataValue{}, links: map[uint32][]link0{}}, nil
}

// parseNS0 reads the node set one node at a time: decoding the whole document into
// structs first held every node's XML strings at once (48 MiB allocated, a start-up
// peak that set opcplc's peak RSS). The node set's Aliases precede its nodes (the
// NodeSet2 schema's element order), so each node resolves its ids as it is read.
func parseNS0(r io.Reader) (*ns0, error) {
	aliases := map[string]string{}
	numeric := func(s string) (uint32, bool) {
		s = strings.TrimSpace(s)
		if a, ok := aliases[s]; ok {
			s = a
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(s, "i="), 10, 32)
		return uint32(n), err == nil && strings.HasPrefix(s, "i=")
	}
	ns := &ns0{nodes: map[uint32]*node0{}, parents: map[uint32]uint32{}}
	type read0 struct {
		n    *node0
		rank int
		refs []ref0 // as the node set states them, ids resolved
	}
	var order []read0
	dec := xml.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("namespace 0 node set: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		elem, isNode := nodeElems0[se.Name.Local]
		switch {
		case se.Name.Local == "Alias":
			var a struct {
				Alias string `xml:"Alias,attr"`
				ID    string `xml:",chardata"`
			}
			if err := dec.DecodeElement(&a, &se); err != nil {
				return nil, fmt.Errorf("namespace 0 node set: alias: %w", err)
			}
			aliases[a.Alias] = strings.TrimSpace(a.ID)
			continue
		case !isNode:
			continue
		}
		var x xmlNode0
		if err := dec.DecodeElement(&x, &se); err != nil {
			return nil, fmt.Errorf("namespace 0 node set: %s: %w", se.Name.Local, err)
		}
		nid, ok := numeric(x.NodeID)
		if !ok {
			continue
		}
		n := &node0{id: nid, class: elem.class, browse: x.BrowseName, display: x.DisplayName, desc: x.Description,
			valueRank: -1, access: byte(ua.AccessLevelTypeCurrentRead), minSampling: x.MinSampling, abstract: x.IsAbstract,
			symmetric: x.Symmetric, inverseName: x.InverseName, noLoops: x.ContainsNoLoops}
		if n.display == "" {
			n.display = n.browse
		}
		if x.ValueRank != nil {
			n.valueRank = *x.ValueRank
		}
		if x.AccessLevel != nil {
			n.access = *x.AccessLevel
		}
		if elem.class == ua.NodeClassVariable || elem.class == ua.NodeClassVariableType {
			n.dataType = ua.NewNumericNodeID(0, id.BaseDataType)
			if dt, ok := numeric(x.DataType); ok {
				n.dataType = ua.NewNumericNodeID(0, dt)
			}
			for _, d := range strings.Split(x.ArrayDimensions, ",") {
				if v, err := strconv.ParseUint(strings.TrimSpace(d), 10, 32); err == nil {
					n.arrayDims = append(n.arrayDims, uint32(v))
				}
			}
			if x.Value != nil {
				n.value = parseValue0(x.Value.Inner)
			}
		}
		r := read0{n: n, rank: elem.rank, refs: make([]ref0, 0, len(x.Refs))}
		for _, xr := range x.Refs {
			typ, ok1 := numeric(xr.Type)
			target, ok2 := numeric(xr.Target)
			if ok1 && ok2 {
				r.refs = append(r.refs, ref0{typ: typ, forward: xr.IsForward == nil || *xr.IsForward, target: target})
			}
		}
		ns.nodes[nid] = n
		order = append(order, r)
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].rank < order[j].rank })
	seen := map[uint32]map[ref0]bool{}
	add := func(src *node0, r ref0) {
		if seen[src.id] == nil {
			seen[src.id] = map[ref0]bool{}
		}
		if !seen[src.id][r] {
			seen[src.id][r] = true
			src.refs = append(src.refs, r)
		}
	}
	for _, r := range order {
		n := r.n
		if unsupported0[n.id] {
			continue
		}
		for _, ref := range r.refs {
			t := ns.nodes[ref.target]
			if t == nil || unsupported0[ref.target] {
				continue
			}
			add(n, ref)
			add(t, ref0{typ: ref.typ, forward: !ref.forward, target: n.id})
		}
	}
	for _, r := range order {
		n := r.n
		for _, r := range n.refs {
			switch {
			case r.typ == id.HasTypeDefinition && r.forward:
				n.typeDef = r.target
			case r.typ == id.HasSubtype && !r.forward && n.class == ua.NodeClassReferenceType:
				ns.parents[n.id] = r.target
			}
		}
	}
	return ns, nil
}

// xml element tree for node set values.
type xmlElem struct {
	XMLName  xml.Name
	Content  string    `xml:",chardata"`
	Children []xmlElem `xml:",any"`
}

func (e xmlElem) child(name string) *xmlElem {
	for i := range e.Children {
		if e.Children[i].XMLName.Local == name {
			return &e.Children[i]
		}
	}
	return nil
}

func (e *xmlElem) text() string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.Content)
}

func (e *xmlElem) localized() *ua.LocalizedText {
	if e == nil {
		return &ua.LocalizedText{}
	}
	lt := &ua.LocalizedText{Locale: e.child("Locale").text(), Text: e.child("Text").text()}
	lt.UpdateMask()
	return lt
}

// parseValue0 turns the node set's XML value into a Go value a Variant holds; the value
// kinds namespace 0 uses are handled, anything else is nil (a Good null value).
func parseValue0(inner []byte) any {
	var root xmlElem
	if err := xml.Unmarshal(append(append([]byte("<v>"), inner...), "</v>"...), &root); err != nil || len(root.Children) == 0 {
		return nil
	}
	v := root.Children[0]
	switch v.XMLName.Local {
	case "String":
		return v.text()
	case "Boolean":
		return v.text() == "true"
	case "Int32":
		n, _ := strconv.ParseInt(v.text(), 10, 32)
		return int32(n)
	case "UInt32":
		n, _ := strconv.ParseUint(v.text(), 10, 32)
		return uint32(n)
	case "LocalizedText":
		return v.localized()
	case "ListOfString":
		out := []string{}
		for _, c := range v.Children {
			out = append(out, c.text())
		}
		return out
	case "ListOfInt32":
		out := []int32{}
		for _, c := range v.Children {
			n, _ := strconv.ParseInt(c.text(), 10, 32)
			out = append(out, int32(n))
		}
		return out
	case "ListOfLocalizedText":
		out := []*ua.LocalizedText{}
		for i := range v.Children {
			out = append(out, v.Children[i].localized())
		}
		return out
	case "ListOfExtensionObject":
		out := []*ua.ExtensionObject{}
		for _, c := range v.Children {
			body := c.child("Body")
			if body == nil || len(body.Children) == 0 {
				return nil
			}
			switch b := body.Children[0]; b.XMLName.Local {
			case "Argument":
				a := &ua.Argument{Name: b.child("Name").text(), ValueRank: -1, ArrayDimensions: []uint32{}, Description: b.child("Description").localized()}
				if dt := b.child("DataType"); dt != nil {
					a.DataType, _ = ua.ParseNodeID(dt.child("Identifier").text())
				}
				if a.DataType == nil {
					a.DataType = ua.NewNumericNodeID(0, 0)
				}
				if vr, err := strconv.ParseInt(b.child("ValueRank").text(), 10, 32); err == nil {
					a.ValueRank = int32(vr)
				}
				if ad := b.child("ArrayDimensions"); ad != nil {
					for _, d := range ad.Children {
						n, _ := strconv.ParseUint(d.text(), 10, 32)
						a.ArrayDimensions = append(a.ArrayDimensions, uint32(n))
					}
				}
				out = append(out, ua.NewExtensionObject(a))
			case "EnumValueType":
				n, _ := strconv.ParseInt(b.child("Value").text(), 10, 64)
				out = append(out, ua.NewExtensionObject(&ua.EnumValueType{Value: n, DisplayName: b.child("DisplayName").localized(), Description: b.child("Description").localized()}))
			default:
				return nil
			}
		}
		return out
	}
	return nil
}

// provide makes fn the source of the Value of variable nid.
func (ns *ns0) provide(nid uint32, fn func() *ua.DataValue) {
	ns.mu.Lock()
	ns.providers[nid] = fn
	ns.mu.Unlock()
}

func (ns *ns0) lookup(nid *ua.NodeID) *node0 {
	if nid == nil || nid.Namespace() != 0 || nid.Type() > ua.NodeIDTypeNumeric {
		return nil
	}
	return ns.nodes[nid.IntID()]
}

// IsSubtype says whether reference type ref is want or, with includeSubtypes, one of
// its subtypes; want 0 (or the null NodeId) matches every reference.
func (ns *ns0) IsSubtype(ref, want uint32, includeSubtypes bool) bool {
	if want == 0 || ref == want {
		return true
	}
	if !includeSubtypes {
		return false
	}
	for r, hops := ns.parents[ref], 0; r != 0 && hops < 32; r, hops = ns.parents[r], hops+1 {
		if r == want {
			return true
		}
	}
	return false
}

// Attribute reads attribute attr of node nid.
func (ns *ns0) Attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	n := ns.lookup(nid)
	if n == nil {
		return badValue(ua.StatusBadNodeIDUnknown)
	}
	if dv := baseAttribute(attr, ua.NewNumericNodeID(0, n.id), n.class, &ua.QualifiedName{Name: n.browse}, n.display, n.desc); dv != nil {
		return dv
	}
	switch n.class {
	case ua.NodeClassReferenceType:
		switch attr {
		case ua.AttributeIDIsAbstract:
			return goodValue(n.abstract)
		case ua.AttributeIDSymmetric:
			return goodValue(n.symmetric)
		case ua.AttributeIDInverseName:
			return goodValue(text(n.inverseName))
		}
	case ua.NodeClassObjectType, ua.NodeClassDataType:
		if attr == ua.AttributeIDIsAbstract {
			return goodValue(n.abstract)
		}
	case ua.NodeClassObject:
		if attr == ua.AttributeIDEventNotifier {
			// opcplc emits no events (an EventFilter is refused), so no object is a
			// notifier, not even the Server object the node set marks as one.
			return goodValue(byte(0))
		}
	case ua.NodeClassView:
		switch attr {
		case ua.AttributeIDEventNotifier:
			return goodValue(byte(0))
		case ua.AttributeIDContainsNoLoops:
			return goodValue(n.noLoops)
		}
	case ua.NodeClassMethod:
		switch attr {
		case ua.AttributeIDExecutable, ua.AttributeIDUserExecutable:
			// Of namespace 0's methods only Server.GetMonitoredItems is implemented; Call
			// answers BadNotExecutable for the others.
			return goodValue(n.id == id.Server_GetMonitoredItems)
		}
	case ua.NodeClassVariable, ua.NodeClassVariableType:
		switch attr {
		case ua.AttributeIDValue:
			return ns.value(n)
		case ua.AttributeIDDataType:
			return goodValue(n.dataType)
		case ua.AttributeIDValueRank:
			return goodValue(n.valueRank)
		case ua.AttributeIDArrayDimensions:
			if n.arrayDims == nil {
				return goodValue([]uint32{})
			}
			return goodValue(n.arrayDims)
		}
		if n.class == ua.NodeClassVariableType {
			if attr == ua.AttributeIDIsAbstract {
				return goodValue(n.abstract)
			}
			break
		}
		switch attr {
		case ua.AttributeIDAccessLevel, ua.AttributeIDUserAccessLevel:
			return goodValue(n.access)
		case ua.AttributeIDMinimumSamplingInterval:
			return goodValue(n.minSampling)
		case ua.AttributeIDHistorizing:
			return goodValue(false)
		}
	}
	return badValue(ua.StatusBadAttributeIDInvalid)
}

func (ns *ns0) value(n *node0) *ua.DataValue {
	ns.mu.RLock()
	fn := ns.providers[n.id]
	ns.mu.RUnlock()
	if fn != nil {
		return fn()
	}
	if n.value == nil {
		return &ua.DataValue{EncodingMask: ua.DataValueValue | ua.DataValueServerTimestamp, Value: ua.MustVariant(nil), ServerTimestamp: time.Now()}
	}
	return goodValue(n.value)
}

func text(s string) *ua.LocalizedText {
	lt := &ua.LocalizedText{Text: s}
	lt.UpdateMask()
	return lt
}

// describe is the ReferenceDescription of r with the fields the browse result mask asks for.
func (ns *ns0) describe(r ref0, mask uint32) *ua.ReferenceDescription {
	t := ns.nodes[r.target]
	return masked(&ua.ReferenceDescription{
		ReferenceTypeID: ua.NewNumericNodeID(0, r.typ), IsForward: r.forward, NodeID: ua.NewNumericExpandedNodeID(0, r.target),
		BrowseName: &ua.QualifiedName{Name: t.browse}, DisplayName: text(t.display), NodeClass: t.class,
		TypeDefinition: ua.NewNumericExpandedNodeID(0, t.typeDef),
	}, mask)
}

// Browse lists the references of one node that match bd, each once.
func (ns *ns0) Browse(bd *ua.BrowseDescription) *ua.BrowseResult {
	n := ns.lookup(bd.NodeID)
	if n == nil {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown, References: []*ua.ReferenceDescription{}}
	}
	want, code := refTypeFilter(ns, bd.ReferenceTypeID)
	if code != ua.StatusOK {
		return &ua.BrowseResult{StatusCode: code, References: []*ua.ReferenceDescription{}}
	}
	res := &ua.BrowseResult{StatusCode: ua.StatusGood, References: []*ua.ReferenceDescription{}}
	for _, r := range n.refs {
		if !directionMatches(bd.BrowseDirection, r.forward) || !ns.IsSubtype(r.typ, want, bd.IncludeSubtypes) ||
			(bd.NodeClassMask != 0 && bd.NodeClassMask&uint32(ns.nodes[r.target].class) == 0) {
			continue
		}
		res.References = append(res.References, ns.describe(r, bd.ResultMask))
	}
	ns.mu.RLock()
	links := ns.links[n.id]
	ns.mu.RUnlock()
	for _, l := range links {
		if !directionMatches(bd.BrowseDirection, l.forward) || !ns.IsSubtype(l.typ, want, bd.IncludeSubtypes) ||
			(bd.NodeClassMask != 0 && bd.NodeClassMask&uint32(l.class) == 0) {
			continue
		}
		res.References = append(res.References, masked(&ua.ReferenceDescription{
			ReferenceTypeID: ua.NewNumericNodeID(0, l.typ), IsForward: l.forward, NodeID: l.target, BrowseName: l.browse,
			DisplayName: text(l.display), NodeClass: l.class, TypeDefinition: ua.NewNumericExpandedNodeID(0, l.typeDef),
		}, bd.ResultMask))
	}
	return res
}

// link adds a reference from namespace-0 node from to a node of another namespace.
func (ns *ns0) link(from uint32, l link0) {
	ns.mu.Lock()
	ns.links[from] = append(ns.links[from], l)
	ns.mu.Unlock()
}

// masked clears the fields of rd the browse result mask does not ask for.
func masked(rd *ua.ReferenceDescription, mask uint32) *ua.ReferenceDescription {
	if mask&uint32(ua.BrowseResultMaskReferenceTypeID) == 0 {
		rd.ReferenceTypeID = ua.NewNumericNodeID(0, 0)
	}
	if mask&uint32(ua.BrowseResultMaskNodeClass) == 0 {
		rd.NodeClass = 0
	}
	if mask&uint32(ua.BrowseResultMaskBrowseName) == 0 {
		rd.BrowseName = &ua.QualifiedName{}
	}
	if mask&uint32(ua.BrowseResultMaskDisplayName) == 0 {
		rd.DisplayName = &ua.LocalizedText{}
	}
	if mask&uint32(ua.BrowseResultMaskTypeDefinition) == 0 {
		rd.TypeDefinition = ua.NewNumericExpandedNodeID(0, 0)
	}
	return rd
}

// refTypeFilter checks a browse's ReferenceTypeId: null = every reference, otherwise a
// reference type of namespace 0.
func refTypeFilter(ns *ns0, rt *ua.NodeID) (uint32, ua.StatusCode) {
	if rt == nil || (rt.Namespace() == 0 && rt.Type() <= ua.NodeIDTypeNumeric && rt.IntID() == 0) {
		return 0, ua.StatusOK
	}
	if n := ns.lookup(rt); n != nil && n.class == ua.NodeClassReferenceType {
		return n.id, ua.StatusOK
	}
	return 0, ua.StatusBadReferenceTypeIDInvalid
}

func directionMatches(d ua.BrowseDirection, forward bool) bool {
	switch d {
	case ua.BrowseDirectionForward:
		return forward
	case ua.BrowseDirectionInverse:
		return !forward
	case ua.BrowseDirectionBoth:
		return true
	}
	return false
}

// link0 is a reference from a namespace-0 node to a node of another namespace (the
// Objects folder organizes OpcPlc): browsing the namespace-0 node shows it.
type link0 struct {
	typ     uint32
	forward bool
	target  *ua.ExpandedNodeID
	browse  *ua.QualifiedName
	display string
	class   ua.NodeClass
	typeDef uint32
}

// baseAttribute answers the attributes every node class has (OPC 10000-3 §5.2); nil for
// any other attribute. Nothing is writable: WriteMask and UserWriteMask are 0.
func baseAttribute(attr ua.AttributeID, nid *ua.NodeID, class ua.NodeClass, browse *ua.QualifiedName, display, desc string) *ua.DataValue {
	switch attr {
	case ua.AttributeIDNodeID:
		return goodValue(nid)
	case ua.AttributeIDNodeClass:
		return goodValue(int32(class))
	case ua.AttributeIDBrowseName:
		return goodValue(browse)
	case ua.AttributeIDDisplayName:
		return goodValue(text(display))
	case ua.AttributeIDDescription:
		return goodValue(text(desc))
	case ua.AttributeIDWriteMask, ua.AttributeIDUserWriteMask:
		return goodValue(uint32(0))
	}
	return nil
}
