package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/web"
)

// golden is testdata/pn.json: what /pn.json serves for goldenSim. opcpublisher's
// publishednodes.json parser reads the same file in its own tests
// (workloads/opcpublisher/internal/pnjson/opcplc_test.go), so a format change on either
// side fails a test. Regenerate with UPDATE_GOLDEN=1.
var golden = filepath.Join("testdata", "pn.json")

func goldenSim(t *testing.T) *plc.Simulator {
	t.Helper()
	cfg := plc.DefaultConfig()
	cfg.Fast = plc.LoadNodes{Count: 3, Rate: 100 * time.Millisecond, Type: plc.TypeUInt}
	cfg.Slow = plc.LoadNodes{Count: 2, Rate: 10 * time.Second, Type: plc.TypeDouble}
	cfg.GUIDNodes = 0 // the golden file predates --gn; TestPNJSONSpecialNodeIDs covers g= and b= ids
	sim, err := plc.New(cfg, plc.RealClock{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

var goldenOpts = web.Options{EndpointURL: "opc.tcp://opcplc:50000", UseSecurity: false, Group: "opcplc"}

func TestPNJSONMatchesGolden(t *testing.T) {
	rec := httptest.NewRecorder()
	web.Handler(goldenOpts, goldenSim(t).Nodes).ServeHTTP(rec, httptest.NewRequest("GET", "/pn.json", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	got, _ := io.ReadAll(rec.Body)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("/pn.json differs from %s (UPDATE_GOLDEN=1 to accept):\n%s", golden, got)
	}
}

func TestPNJSONListsEveryVariableWithNSUIds(t *testing.T) {
	sim := goldenSim(t)
	entries := web.PublishedNodes(goldenOpts, sim.Nodes())
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.EndpointURL != goldenOpts.EndpointURL || e.UseSecurity || e.OpcAuthenticationMode != "Anonymous" || e.DataSetWriterGroup != "opcplc" {
		t.Errorf("entry header %+v", e)
	}
	vars := 0
	for _, n := range sim.Nodes() {
		if n.Variable() && !n.Config {
			vars++
		}
	}
	if len(e.OpcNodes) != vars {
		t.Errorf("%d nodes, want every one of the %d variables", len(e.OpcNodes), vars)
	}
	for _, n := range e.OpcNodes {
		if !strings.HasPrefix(n.ID, "nsu=http://microsoft.com/Opc/OpcPlc/;s=") {
			t.Errorf("node id %q is not an nsu= id", n.ID)
		}
		fast := strings.Contains(n.ID, "s=FastUInt") || strings.Contains(n.ID, "s=BadFastUInt")
		if fast && (n.OpcSamplingInterval != 100 || n.OpcPublishingInterval != 100) {
			t.Errorf("%s intervals %d/%d, want the fast rate 100/100", n.ID, n.OpcSamplingInterval, n.OpcPublishingInterval)
		}
	}
	b, _ := json.Marshal(entries)
	if strings.Contains(string(b), `\u0026`) {
		t.Errorf("HTML escaping in %s", b)
	}
}

func TestPNJSONSpecialNodeIDs(t *testing.T) {
	cfg := plc.DefaultConfig()
	cfg.LongID, cfg.Opaque, cfg.GUIDNodes = true, true, 2
	sim, err := plc.New(cfg, plc.RealClock{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, n := range web.PublishedNodes(goldenOpts, sim.Nodes())[0].OpcNodes {
		ids[n.DisplayName] = n.ID
	}
	ns := "nsu=http://microsoft.com/Opc/OpcPlc/;"
	g := plc.GUIDs(2)
	for name, want := range map[string]string{
		"Opaque_abc": ns + "b=YWJj", "LongId3950": ns + "s=" + plc.LongID(),
		strings.ToLower(g[0]): ns + "g=" + g[0], strings.ToLower(g[1]): ns + "g=" + g[1],
	} {
		if ids[name] != want {
			t.Errorf("%s: id %.80q, want %.80q", name, ids[name], want)
		}
	}
	for _, cfg := range []string{"FastNumberOfUpdates", "SlowNumberOfUpdates"} {
		if _, ok := ids[cfg]; ok {
			t.Errorf("simulator setting %s listed in /pn.json", cfg)
		}
	}
	for _, m := range sim.Methods() {
		if _, ok := ids[m.Name]; ok {
			t.Errorf("method %s listed in /pn.json", m.Name)
		}
	}
}
