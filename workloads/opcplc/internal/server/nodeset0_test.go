package server

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gopcua/opcua/schema"
)

var update = flag.Bool("update", false, "rewrite nodeset0.xml.gz from the gopcua module's schema.OpcUaNodeSet2")

// The embedded node set is gopcua's, byte for byte: a gopcua upgrade that changes the
// node set fails here until `go test ./workloads/opcplc/internal/server -run
// TestEmbeddedNodeSetIsGopcuas -update` rewrites it.
func TestEmbeddedNodeSetIsGopcuas(t *testing.T) {
	if *update {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(schema.OpcUaNodeSet2); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("nodeset0.xml.gz", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(nodeSet0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, schema.OpcUaNodeSet2) {
		t.Fatalf("nodeset0.xml.gz (%d bytes unpacked) differs from gopcua's schema.OpcUaNodeSet2 (%d bytes): rerun this test with -update", len(got), len(schema.OpcUaNodeSet2))
	}
}

// A node set that is not well-formed XML is an error naming namespace 0 and the element,
// not a partial address space.
func TestParseNS0RejectsABrokenNodeSet(t *testing.T) {
	for name, doc := range map[string]string{
		"truncated": `<UANodeSet><Aliases><Alias Alias="HasSubtype">i=45</Alias></Aliases><UAObject NodeId="i=85" BrowseName="Objects">`,
		"bad value": `<UANodeSet><UAVariable NodeId="i=1" ValueRank="many"></UAVariable></UANodeSet>`,
		"bad alias": `<UANodeSet><Aliases><Alias Alias="x">i=1</Aliax></Aliases></UANodeSet>`,
	} {
		t.Run(name, func(t *testing.T) {
			ns, err := parseNS0(strings.NewReader(doc))
			if err == nil {
				t.Fatalf("parsed %d nodes, want an error", len(ns.nodes))
			}
			if !strings.Contains(err.Error(), "namespace 0 node set") {
				t.Errorf("error %q does not name the node set", err)
			}
		})
	}
}
