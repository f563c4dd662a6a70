package interop_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// servicesRun is what test/interop/node/opcplc_services.js prints.
type servicesRun struct {
	NamespaceIndex int      `json:"namespaceIndex"`
	NamespaceArray []string `json:"namespaceArray"`
	Server         map[string]struct {
		Status   string `json:"status"`
		DataType string `json:"dataType"`
		Value    any    `json:"value"`
	} `json:"server"`
	Browse map[string]struct {
		Status string `json:"status"`
		Refs   []struct {
			Type      string `json:"type"`
			Forward   bool   `json:"forward"`
			Target    string `json:"target"`
			Name      string `json:"name"`
			NodeClass int    `json:"nodeClass"`
		} `json:"refs"`
	} `json:"browse"`
	Calls  map[string]string `json:"calls"`
	Args   struct{ Inputs, Outputs int }
	StepUp struct {
		Before    float64    `json:"before"`
		Held      [2]float64 `json:"held"`
		Reset     float64    `json:"reset"`
		Restarted float64    `json:"restarted"`
	} `json:"stepUp"`
	Fast struct {
		Held         [2]float64 `json:"held"`
		Restarted    float64    `json:"restarted"`
		LimitWrite   string     `json:"limitWrite"`
		Limited      [2]float64 `json:"limited"`
		LimitRestore string     `json:"limitRestore"`
		LimitValue   float64    `json:"limitValue"`
	} `json:"fast"`
	Writes struct {
		StepUp           string  `json:"StepUp"`
		SeenBySubscriber bool    `json:"seenBySubscriber"`
		ReadBack         float64 `json:"readBack"`
		WrongType        string  `json:"wrongType"`
		ReadOnly         string  `json:"readOnly"`
		Server           string  `json:"server"`
	} `json:"writes"`
	Events struct {
		Notifier float64 `json:"notifier"`
		Monitor  string  `json:"monitor"`
	} `json:"events"`
	GetMonitoredItems struct {
		Server, Client []float64
		ItemID         float64 `json:"itemId"`
		ClientHandle   float64 `json:"clientHandle"`
	} `json:"getMonitoredItems"`
	IndexRange struct {
		Element []string `json:"element"`
		Status  string   `json:"status"`
		Scalar  string   `json:"scalar"`
	} `json:"indexRange"`
	GUIDNodes []string `json:"guidNodes"`
	Special   map[string]struct {
		Status      string  `json:"status"`
		DataType    string  `json:"dataType"`
		Length      int     `json:"length"`
		Write       string  `json:"write"`
		ReadBack    float64 `json:"readBack"`
		DisplayName string  `json:"displayName"`
	} `json:"special"`
}

// node-opcua (strict, and not written by us) reads the Server object, browses without
// duplicates and with every reference visible from both ends, calls the OpcPlc/Methods
// methods, writes StepUp and reads and writes the special nodes by their ids.
func TestNodeOPCUAServerObjectMethodsWritesAndSpecialNodes(t *testing.T) {
	ep := startOPCPLC(t, "--ut", "--aa", "--fn=3", "--vfr=100", "--gn=2", "--lid", "--on", "--lsn")
	var run servicesRun
	if err := runNodeScript(t, "opcplc_services.js", filepath.Join(t.TempDir(), "client-pki"), &run, "ENDPOINT="+ep); err != nil {
		t.Fatal(err)
	}
	if len(run.GUIDNodes) != 2 || !strings.HasPrefix(run.GUIDNodes[1], "ns=2;g=") {
		t.Fatalf("GUID nodes %v, want 2 with GUID ids", run.GUIDNodes)
	}
	guid := strings.TrimPrefix(run.GUIDNodes[1], "ns=2;g=")
	// The ids OPC PLC's own test (tests/GuidNodesTests.cs) expects with --gn=2.
	for i, want := range []string{"51b74e55-f2e3-4a4d-b79c-bf57c76ea67c", "1313895e-c776-4201-b893-e514864c6692"} {
		if got := strings.TrimPrefix(run.GUIDNodes[i], "ns=2;g="); !strings.EqualFold(got, want) {
			t.Errorf("GUID node %d: %s, want OPC PLC's %s", i, got, want)
		}
	}
	if run.NamespaceIndex != 2 || len(run.NamespaceArray) != 3 || !strings.HasPrefix(run.NamespaceArray[1], "urn:") {
		t.Errorf("namespace array %v (OPC PLC namespace at %d), want the server URI at 1 and OPC PLC's at 2", run.NamespaceArray, run.NamespaceIndex)
	}

	// Server object.
	for name, want := range map[string]string{
		"ServerArray": "String", "NamespaceArray": "String", "ServerStatus": "ExtensionObject", "State": "Int32", "ServiceLevel": "Byte",
		"Auditing": "Boolean", "ServerProfileArray": "String", "LocaleIdArray": "String", "MinSupportedSampleRate": "Double",
		"MaxBrowseContinuationPoints": "UInt16", "MaxQueryContinuationPoints": "UInt16", "MaxHistoryContinuationPoints": "UInt16",
		"SoftwareCertificates": "ExtensionObject", "MaxArrayLength": "UInt32", "MaxStringLength": "UInt32", "MaxByteStringLength": "UInt32",
		"MaxNodesPerRead": "UInt32", "MaxNodesPerMethodCall": "UInt32", "EnabledFlag": "Boolean", "ServerDiagnosticsSummary": "ExtensionObject",
		"RedundancySupport": "Int32", "BuildInfo": "ExtensionObject", "ProductName": "String",
	} {
		got, ok := run.Server[name]
		if !ok || got.Status != "Good" || got.DataType != want {
			t.Errorf("Server %s: %+v, want Good %s", name, got, want)
		}
	}
	if v := run.Server["ServiceLevel"].Value; v != 255.0 {
		t.Errorf("ServiceLevel %v, want 255", v)
	}
	if v := run.Server["Auditing"].Value; v != false {
		t.Errorf("Auditing %v", v)
	}

	if ir := run.IndexRange; ir.Status != "Good" || len(ir.Element) != 1 || ir.Element[0] != "http://microsoft.com/Opc/OpcPlc/" || ir.Scalar != "BadIndexRangeNoData" {
		t.Errorf("index range: %+v", ir)
	}

	// Browse: each reference once, and seen from its other end with the same type.
	type key struct {
		from, typ, to string
		forward       bool
	}
	all := map[key]bool{}
	for from, b := range run.Browse {
		if b.Status != "Good" {
			t.Errorf("browse %s: %s", from, b.Status)
		}
		for _, r := range b.Refs {
			k := key{from, r.Type, r.Target, r.Forward}
			if all[k] {
				t.Errorf("browse %s: %s reference to %s (%s) twice", from, r.Type, r.Target, r.Name)
			}
			all[k] = true
		}
	}
	for k := range all {
		if _, browsed := run.Browse[k.to]; browsed && !all[key{k.to, k.typ, k.from, !k.forward}] {
			t.Errorf("%s -%s(forward=%v)-> %s, but %s does not list it back", k.from, k.typ, k.forward, k.to, k.to)
		}
	}
	for _, must := range []string{"ns=0;i=2253", "ns=0;i=2268", "ns=2;s=Methods", "ns=0;i=11704"} {
		if _, ok := run.Browse[must]; !ok {
			t.Errorf("%s was not browsed", must)
		}
	}
	if n := len(run.Browse); n < 40 {
		t.Errorf("only %d nodes browsed", n)
	}

	// Methods.
	for _, m := range []string{"StopStepUp", "ResetStepUp", "StartStepUp", "StopUpdateFastNodes", "StartUpdateFastNodes",
		"StopUpdateSlowNodes", "StartUpdateSlowNodes", "ResetTrend", "ResetPosTrend", "ResetNegTrend"} {
		if got := run.Calls[m]; got != "Good" {
			t.Errorf("call %s: %s", m, got)
		}
	}
	for name, want := range map[string]string{"withArgument": "BadTooManyArguments", "wrongObject": "BadMethodInvalid", "unknownMethod": "BadMethodInvalid"} {
		if got := run.Calls[name]; got != want {
			t.Errorf("call %s: %s, want %s", name, got, want)
		}
	}
	if run.Args.Inputs != 0 || run.Args.Outputs != 0 {
		t.Errorf("ResetStepUp arguments %+v, want none", run.Args)
	}
	su := run.StepUp
	if su.Held[0] != su.Held[1] || su.Reset != 0 || su.Restarted < 2 || su.Restarted > su.Held[0] {
		t.Errorf("StepUp: held %v after StopStepUp, %v after ResetStepUp, %v 0.5 s after StartStepUp", su.Held, su.Reset, su.Restarted)
	}
	if f := run.Fast; f.Held[0] != f.Held[1] || f.Restarted <= f.Held[1] {
		t.Errorf("FastUInt1: held %v after StopUpdateFastNodes, %v after StartUpdateFastNodes", f.Held, f.Restarted)
	}

	if f := run.Fast; f.LimitWrite != "Good" || f.Limited[0] != f.Limited[1] || f.LimitRestore != "Good" || f.LimitValue != -1 {
		t.Errorf("FastNumberOfUpdates: wrote 0 %s, FastUInt1 %v, wrote -1 %s, reads %v", f.LimitWrite, f.Limited, f.LimitRestore, f.LimitValue)
	}

	// Writes.
	w := run.Writes
	if w.StepUp != "Good" || !w.SeenBySubscriber || w.ReadBack < 1_000_000 {
		t.Errorf("write StepUp: %s, subscriber saw it %v, read back %v", w.StepUp, w.SeenBySubscriber, w.ReadBack)
	}
	if w.WrongType != "BadTypeMismatch" || w.ReadOnly != "BadNotWritable" || w.Server != "BadNotWritable" {
		t.Errorf("refused writes: %+v", w)
	}

	if g := run.GetMonitoredItems; len(g.Server) != 1 || len(g.Client) != 1 || g.Server[0] != g.ItemID || g.Client[0] != g.ClientHandle {
		t.Errorf("GetMonitoredItems: %+v", g)
	}

	// Events are not covered, and say so: no notifier, event filters refused, session intact.
	if run.Events.Notifier != 0 || !strings.Contains(run.Events.Monitor, "BadMonitoredItemFilterUnsupported") {
		t.Errorf("events: %+v, want EventNotifier 0 and BadMonitoredItemFilterUnsupported", run.Events)
	}

	// Special nodes.
	for name, want := range map[string]struct{ dt, display string }{
		"LongId": {"UInt32", "LongId3950"}, "Opaque": {"UInt32", "Opaque_abc"}, "Guid": {"UInt32", strings.ToLower(guid)},
		"LongString10kB": {"String", "LongString10kB"}, "LongString50kB": {"String", "LongString50kB"},
	} {
		got := run.Special[name]
		if got.Status != "Good" || got.DataType != want.dt || got.DisplayName != want.display {
			t.Errorf("%s: %+v, want Good %s named %s", name, got, want.dt, want.display)
		}
		if want.dt == "UInt32" && (got.Write != "Good" || got.ReadBack < 4242) {
			t.Errorf("%s: write %s, read back %v", name, got.Write, got.ReadBack)
		}
	}
	if l := run.Special["LongString50kB"].Length; l != 50*1024 {
		t.Errorf("LongString50kB is %d characters", l)
	}
}
