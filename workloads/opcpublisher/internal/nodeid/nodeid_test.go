package nodeid_test

import (
	"strings"
	"testing"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/nodeid"
)

var serverNamespaces = []string{"http://opcfoundation.org/UA/", "urn:server", "http://microsoft.com/Opc/OpcPlc/"}

func TestParseAndResolveEveryForm(t *testing.T) {
	for _, tc := range []struct {
		in, canonical string
		want          *ua.NodeID
	}{
		{"i=2258", "i=2258", ua.NewNumericNodeID(0, 2258)},
		{"s=Temperature", "s=Temperature", ua.NewStringNodeID(0, "Temperature")},
		{"ns=2;s=FastUInt1", "ns=2;s=FastUInt1", ua.NewStringNodeID(2, "FastUInt1")},
		{"ns=1;i=70000", "ns=1;i=70000", ua.NewNumericNodeID(1, 70000)},
		{"ns=3;g=09087e75-8e5e-499b-954f-f2a9603db28a", "ns=3;g=09087e75-8e5e-499b-954f-f2a9603db28a", ua.NewGUIDNodeID(3, "09087e75-8e5e-499b-954f-f2a9603db28a")},
		{"ns=1;b=M/RbKBsRVkePCePcx24oRA==", "ns=1;b=M/RbKBsRVkePCePcx24oRA==", ua.NewByteStringNodeID(1, []byte{0x33, 0xf4, 0x5b, 0x28, 0x1b, 0x11, 0x56, 0x47, 0x8f, 0x09, 0xe3, 0xdc, 0xc7, 0x6e, 0x28, 0x44})},
		{"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt1", "nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt1", ua.NewStringNodeID(2, "FastUInt1")},
		{"nsu=urn:server;i=5", "nsu=urn:server;i=5", ua.NewNumericNodeID(1, 5)},
		{"svr=0;nsu=urn:server;i=5", "nsu=urn:server;i=5", ua.NewNumericNodeID(1, 5)},
		{"http://microsoft.com/Opc/OpcPlc/#s=StepUp", "nsu=http://microsoft.com/Opc/OpcPlc/;s=StepUp", ua.NewStringNodeID(2, "StepUp")},
		{"ns=2;s=a;b=c", "ns=2;s=a;b=c", ua.NewStringNodeID(2, "a;b=c")},
	} {
		id, err := nodeid.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if id.String() != tc.canonical {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, id.String(), tc.canonical)
		}
		got, err := id.Resolve(serverNamespaces)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.in, err)
			continue
		}
		if got.String() != tc.want.String() {
			t.Errorf("Resolve(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseRejectsBadIDsNamingTheProblem(t *testing.T) {
	for in, want := range map[string]string{
		"":              "empty node id",
		"Temperature":   "identifier must start with",
		"ns=x;s=a":      "namespace index",
		"ns=70000;i=1":  "namespace index",
		"ns=2":          "ns= must be followed",
		"i=abc":         "numeric identifier",
		"i=4294967296":  "numeric identifier",
		"s=":            "empty string identifier",
		"g=1234":        "GUID identifier",
		"b=***":         "opaque identifier",
		"nsu=;s=x":      "empty namespace URI",
		"nsu=http://x/": "nsu= must be followed",
		"svr=1;i=5":     "remote server",
		"x=5":           "identifier must start with",
	} {
		_, err := nodeid.Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
}

func TestResolveUnknownNamespaceURI(t *testing.T) {
	id, err := nodeid.Parse("nsu=http://nowhere/;s=X")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.Resolve(serverNamespaces); err == nil || !strings.Contains(err.Error(), "http://nowhere/") {
		t.Fatalf("want an error naming the URI, got %v", err)
	}
}
