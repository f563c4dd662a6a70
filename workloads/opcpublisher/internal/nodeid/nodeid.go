// Package nodeid parses the textual NodeId and ExpandedNodeId forms OPC Publisher's
// publishednodes.json accepts and resolves them against a server's namespace array:
//
//	i=2258                         numeric, namespace 0
//	s=Name  g=<guid>  b=<base64>   string, GUID, opaque; namespace 0
//	ns=2;s=FastUInt1               namespace index
//	nsu=http://x/;s=FastUInt1      namespace URI, resolved through the server's NamespaceArray
//	svr=0;nsu=http://x/;i=5        server index (only the local server, 0, is supported)
//	http://x/#s=FastUInt1          OPC Publisher's legacy "<namespace URI>#<id>" form
//
// A bare identifier without a type ("Name") is rejected: it is ambiguous.
package nodeid

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/gopcua/opcua/ua"
)

// Kind is the identifier type of a node id.
type Kind byte

// The identifier types.
const (
	Numeric Kind = 'i'
	String  Kind = 's'
	GUID    Kind = 'g'
	Opaque  Kind = 'b'
)

// ID is a parsed, not yet resolved, node id.
type ID struct {
	// Namespace is the namespace index (meaningful when NamespaceURI is empty).
	Namespace uint16
	// NamespaceURI is set for the nsu= and <uri># forms; Resolve maps it to an index.
	NamespaceURI string
	Kind         Kind
	// Value is the identifier text after the "x=" prefix.
	Value string

	numeric uint32
	opaque  []byte
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Parse reads any supported form. The error says what is wrong with the text.
func Parse(s string) (ID, error) {
	if strings.TrimSpace(s) == "" {
		return ID{}, errors.New("empty node id")
	}
	var id ID
	rest := s
	if strings.HasPrefix(rest, "svr=") {
		head, tail, ok := strings.Cut(rest, ";")
		if !ok {
			return ID{}, fmt.Errorf("node id %q: svr= must be followed by ;<identifier>", s)
		}
		n, err := strconv.ParseUint(head[4:], 10, 32)
		if err != nil {
			return ID{}, fmt.Errorf("node id %q: bad server index %q", s, head[4:])
		}
		if n != 0 {
			return ID{}, fmt.Errorf("node id %q: server index %d refers to a remote server; only 0 (this server) is supported", s, n)
		}
		rest = tail
	}
	switch {
	case strings.HasPrefix(rest, "ns="):
		head, tail, ok := strings.Cut(rest, ";")
		if !ok {
			return ID{}, fmt.Errorf("node id %q: ns= must be followed by ;<identifier>", s)
		}
		n, err := strconv.ParseUint(head[3:], 10, 16)
		if err != nil {
			return ID{}, fmt.Errorf("node id %q: namespace index %q is not in 0..65535", s, head[3:])
		}
		id.Namespace = uint16(n)
		rest = tail
	case strings.HasPrefix(rest, "nsu="):
		// The URI may itself contain ';' (escaped as %3B by the spec, but be lenient):
		// the identifier starts at the first ";i=", ";s=", ";g=" or ";b=".
		i := identStart(rest)
		if i < 0 {
			return ID{}, fmt.Errorf("node id %q: nsu= must be followed by ;i=, ;s=, ;g= or ;b=", s)
		}
		id.NamespaceURI = unescape(rest[4:i])
		if id.NamespaceURI == "" {
			return ID{}, fmt.Errorf("node id %q: empty namespace URI", s)
		}
		rest = rest[i+1:]
	default:
		// Legacy "<uri>#<id>" form.
		if j := strings.LastIndex(rest, "#"); j > 0 && hasIdentPrefix(rest[j+1:]) && strings.Contains(rest[:j], ":") {
			id.NamespaceURI = rest[:j]
			rest = rest[j+1:]
		}
	}
	if !hasIdentPrefix(rest) {
		return ID{}, fmt.Errorf("node id %q: identifier must start with i=, s=, g= or b=", s)
	}
	id.Kind, id.Value = Kind(rest[0]), rest[2:]
	switch id.Kind {
	case Numeric:
		n, err := strconv.ParseUint(id.Value, 10, 32)
		if err != nil {
			return ID{}, fmt.Errorf("node id %q: numeric identifier %q is not in 0..%d", s, id.Value, uint32(math.MaxUint32))
		}
		id.numeric = uint32(n)
	case String:
		if id.Value == "" {
			return ID{}, fmt.Errorf("node id %q: empty string identifier", s)
		}
	case GUID:
		if !guidRE.MatchString(id.Value) {
			return ID{}, fmt.Errorf("node id %q: GUID identifier %q is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s, id.Value)
		}
	case Opaque:
		b, err := base64.StdEncoding.DecodeString(id.Value)
		if err != nil || len(b) == 0 {
			return ID{}, fmt.Errorf("node id %q: opaque identifier %q is not non-empty base64", s, id.Value)
		}
		id.opaque = b
	}
	return id, nil
}

func hasIdentPrefix(s string) bool {
	return len(s) >= 2 && s[1] == '=' && strings.ContainsRune("isgb", rune(s[0]))
}

func identStart(s string) int {
	best := -1
	for _, p := range []string{";i=", ";s=", ";g=", ";b="} {
		if i := strings.Index(s, p); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

func unescape(s string) string {
	return strings.NewReplacer("%3B", ";", "%3b", ";", "%25", "%").Replace(s)
}

// String is the canonical text: ns= when the namespace is an index, nsu= when a URI.
func (id ID) String() string {
	var b strings.Builder
	switch {
	case id.NamespaceURI != "":
		b.WriteString("nsu=" + id.NamespaceURI + ";")
	case id.Namespace != 0:
		b.WriteString("ns=" + strconv.Itoa(int(id.Namespace)) + ";")
	}
	b.WriteByte(byte(id.Kind))
	b.WriteByte('=')
	b.WriteString(id.Value)
	return b.String()
}

// Resolve returns the wire node id, mapping a namespace URI to its index in the
// server's namespace array (Client.Namespaces / NamespaceArray).
func (id ID) Resolve(namespaces []string) (*ua.NodeID, error) {
	ns := id.Namespace
	if id.NamespaceURI != "" {
		found := false
		for i, u := range namespaces {
			if u == id.NamespaceURI {
				ns, found = uint16(i), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("node id %s: namespace URI %q is not in the server's namespace array (%d entries)", id, id.NamespaceURI, len(namespaces))
		}
	}
	switch id.Kind {
	case Numeric:
		return ua.NewNumericNodeID(ns, id.numeric), nil
	case String:
		return ua.NewStringNodeID(ns, id.Value), nil
	case GUID:
		return ua.NewGUIDNodeID(ns, id.Value), nil
	case Opaque:
		return ua.NewByteStringNodeID(ns, id.opaque), nil
	}
	return nil, fmt.Errorf("node id %s: unknown identifier type %q", id, id.Kind)
}
