package pnjson_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/pnjson"
)

// opcplc serves /pn.json; its tests keep testdata/pn.json equal to what it serves.
// Added by the opcplc work: the file must be valid input for this parser.
func TestOPCPLCPublishedNodesAreValidInput(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "opcplc", "internal", "web", "testdata", "pn.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := pnjson.Parse(b)
	if err != nil {
		t.Fatalf("opcplc /pn.json rejected: %v", err)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %v", f.Warnings)
	}
	// One writer per publishing interval (OPC Publisher's default DataSetWriterId).
	var nodes []pnjson.Node
	for _, e := range f.Entries {
		if e.EndpointURL != "opc.tcp://opcplc:50000" || e.WriterGroup != "opcplc" || e.AuthMode != "Anonymous" {
			t.Errorf("entry %+v", e)
		}
		nodes = append(nodes, e.Nodes...)
	}
	if len(nodes) != 15 {
		t.Errorf("%d nodes, want 15", len(nodes))
	}
	namespaces := []string{"http://opcfoundation.org/UA/", "http://microsoft.com/Opc/OpcPlc/"}
	for _, n := range nodes {
		id, err := n.ID.Resolve(namespaces)
		if err != nil || id.Namespace() != 1 || id.StringID() != n.DisplayName {
			t.Errorf("node %s resolves to %v (%v), want ns=1;s=%s", n.RawID, id, err, n.DisplayName)
		}
		if n.DisplayName == "FastUInt1" && (n.SamplingInterval != 100*time.Millisecond || n.PublishingInterval != 100*time.Millisecond) {
			t.Errorf("FastUInt1 intervals %v/%v, want 100ms", n.SamplingInterval, n.PublishingInterval)
		}
	}
}
