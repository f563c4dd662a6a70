// Package web builds opcplc's /pn.json: an OPC Publisher publishednodes.json that
// subscribes to every simulated variable, addressed with nsu= node ids so it stays
// valid whatever namespace index the server assigns.
package web

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

// Entry is one publishednodes.json entry (OPC Publisher 2.9 format).
type Entry struct {
	EndpointURL           string    `json:"EndpointUrl"`
	UseSecurity           bool      `json:"UseSecurity"`
	OpcAuthenticationMode string    `json:"OpcAuthenticationMode"`
	DataSetWriterGroup    string    `json:"DataSetWriterGroup,omitempty"`
	OpcNodes              []OpcNode `json:"OpcNodes"`
}

// OpcNode is one node of an entry; intervals are in milliseconds.
type OpcNode struct {
	ID                    string `json:"Id"`
	DisplayName           string `json:"DisplayName,omitempty"`
	OpcSamplingInterval   int64  `json:"OpcSamplingInterval,omitempty"`
	OpcPublishingInterval int64  `json:"OpcPublishingInterval,omitempty"`
}

// Options says how /pn.json addresses the server.
type Options struct {
	EndpointURL string
	UseSecurity bool   // false when the server offers SecurityPolicy None (--ut)
	Group       string // DataSetWriterGroup; "" leaves it to the publisher
}

// NodeID is the ExpandedNodeId string of a simulated node (s=, g= or b= identifier).
func NodeID(n *plc.Node) string {
	switch n.IDType {
	case plc.IDGUID:
		return "nsu=" + plc.Namespace + ";g=" + n.ID
	case plc.IDOpaque:
		return "nsu=" + plc.Namespace + ";b=" + base64.StdEncoding.EncodeToString([]byte(n.ID))
	}
	return "nsu=" + plc.Namespace + ";s=" + n.ID
}

// PublishedNodes lists every variable of nodes. Load nodes (Fast…/Slow…) carry their
// change rate as sampling and publishing interval; the others leave them to the publisher.
func PublishedNodes(o Options, nodes []*plc.Node) []Entry {
	e := Entry{EndpointURL: o.EndpointURL, UseSecurity: o.UseSecurity, OpcAuthenticationMode: "Anonymous", DataSetWriterGroup: o.Group, OpcNodes: []OpcNode{}}
	for _, n := range nodes {
		if !n.Variable() || n.Config {
			continue
		}
		node := OpcNode{ID: NodeID(n), DisplayName: n.DisplayName()}
		if n.Parent == "Fast" || n.Parent == "Slow" {
			node.OpcSamplingInterval = n.Interval.Milliseconds()
			node.OpcPublishingInterval = n.Interval.Milliseconds()
		}
		e.OpcNodes = append(e.OpcNodes, node)
	}
	return []Entry{e}
}

// Write writes PublishedNodes(o, nodes) as indented JSON (what /pn.json serves and
// --sp/--sph write to a file).
func Write(w io.Writer, o Options, nodes []*plc.Node) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(PublishedNodes(o, nodes))
}

// Handler serves PublishedNodes(o, nodes()) as JSON.
func Handler(o Options, nodes func() []*plc.Node) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = Write(w, o, nodes())
	})
}
