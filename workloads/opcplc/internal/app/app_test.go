package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/app"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsAreOPCPLCs(t *testing.T) {
	o, err := app.Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := o.Server
	if s.Port != 50000 || s.UnsecureTransport || s.AutoAccept || s.DisableAnonymous || s.PKIDir != "pki" || o.WebPort != 8080 {
		t.Errorf("server defaults %+v web %d", s, o.WebPort)
	}
	if s.Users["sysadmin"] != "demo" || s.Users["user1"] != "password" {
		t.Errorf("users %v", s.Users)
	}
	if o.Sim.CycleTime != 100*time.Millisecond || o.Sim.CycleCount != 50 || o.Sim.Fast.Count != 1 || o.Sim.Fast.Rate != time.Second ||
		o.Sim.Slow.Rate != 10*time.Second || o.Sim.Fast.Type != plc.TypeUInt {
		t.Errorf("simulation defaults %+v", o.Sim)
	}
}

func TestOPCPLCFlagsAndEnvFallbacks(t *testing.T) {
	// The accelerator's OPC PLC args, plus long forms and env for the rest.
	o, err := app.Parse([]string{"--pn=4840", "--aa", "--fn=40", "--vfr=250", "--ft", "Double", "--unsecuretransport", "--slownodes=3"},
		env(map[string]string{"EDGEFRAME_OPCPLC_DAA": "true", "EDGEFRAME_OPCPLC_PN": "1", "EDGEFRAME_OPCPLC_CHAOS": "true",
			"EDGEFRAME_OPCPLC_DEFAULTUSER": "operator", "EDGEFRAME_OPCPLC_DP": "secret"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Server.Port != 4840 {
		t.Errorf("port %d: the flag must win over EDGEFRAME_OPCPLC_PN", o.Server.Port)
	}
	if !o.Server.AutoAccept || !o.Server.UnsecureTransport || !o.Server.DisableAnonymous || !o.Server.Chaos {
		t.Errorf("server %+v", o.Server)
	}
	if o.Server.Users["operator"] != "secret" || o.Server.Users["sysadmin"] != "demo" {
		t.Errorf("users %v", o.Server.Users)
	}
	if f := o.Sim.Fast; f.Count != 40 || f.Rate != 250*time.Millisecond || f.Type != plc.TypeDouble {
		t.Errorf("fast nodes %+v", f)
	}
	if o.Sim.Slow.Count != 3 {
		t.Errorf("slow nodes %+v", o.Sim.Slow)
	}
}

func TestBadConfigurationNamesEveryProblem(t *testing.T) {
	_, err := app.Parse([]string{"--ft=Float", "--sc=0", "--wp=70000", "--log-level=loud", "--vfr=-1", "--pn=-5"},
		env(map[string]string{"EDGEFRAME_OPCPLC_FN": "many"}), io.Discard)
	if err == nil {
		t.Fatal("accepted a bad configuration")
	}
	for _, want := range []string{"--ft", "--sc", "--wp", "--log-level", "--vfr", "--pn", "EDGEFRAME_OPCPLC_FN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestRunServesPNJSONHealthAndMetrics(t *testing.T) {
	web, opc := testenv.FreePort(t), testenv.FreePort(t)
	o, err := app.Parse([]string{"--ph=127.0.0.1", "--listen=127.0.0.1", fmt.Sprintf("--pn=%d", opc), fmt.Sprintf("--wp=%d", web), "--ut",
		"--pki=" + filepath.Join(t.TempDir(), "pki"), "--fn=5", "--vfr=100", "--writer-group=plc1"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer runApp(t, o)()
	base := fmt.Sprintf("http://127.0.0.1:%d", web)
	get := func(path string) (int, string) {
		var last error
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			resp, err := http.Get(base + path)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			last = err
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("GET %s: %v", path, last)
		return 0, ""
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz %d %s", code, body)
	}
	code, body := get("/pn.json")
	var entries []struct {
		EndpointUrl        string
		UseSecurity        bool
		DataSetWriterGroup string
		OpcNodes           []struct{ Id string }
	}
	if err := json.Unmarshal([]byte(body), &entries); code != 200 || err != nil || len(entries) != 1 {
		t.Fatalf("/pn.json %d %v: %s", code, err, body)
	}
	e := entries[0]
	if e.EndpointUrl != fmt.Sprintf("opc.tcp://127.0.0.1:%d", opc) || e.UseSecurity || e.DataSetWriterGroup != "plc1" {
		t.Errorf("pn.json entry %+v", e)
	}
	// 4 basic + 4 anomaly + 5 fast + 1 bad fast + 1 slow + 1 bad slow
	if len(e.OpcNodes) != 16 {
		t.Errorf("pn.json has %d nodes, want 16", len(e.OpcNodes))
	}
	_, metrics := get("/metrics")
	for _, m := range []string{"edgeframe_opcplc_sessions 0", "edgeframe_opcplc_subscriptions 0", "edgeframe_opcplc_monitored_items 0",
		"edgeframe_opcplc_notifications_total 0", "edgeframe_opcplc_notifications_per_second", "process_resident_memory_bytes"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
}
