package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/app"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/config"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
)

func TestDefaultsAreOPCPLCs(t *testing.T) {
	o, err := config.Load(nil, testkit.Env(nil), io.Discard)
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

// TestLevelAndItsLayerAlias: --level is every workload's flag; opcplc's former --layer
// (and EDGEFRAME_OPCPLC_LAYER) still sets it.
func TestLevelAndItsLayerAlias(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--level=l3"}, nil},
		{[]string{"--layer=l3"}, nil},
		{nil, map[string]string{"EDGEFRAME_OPCPLC_LEVEL": "l3"}},
		{nil, map[string]string{"EDGEFRAME_OPCPLC_LAYER": "l3"}},
	} {
		o, err := config.Load(tc.args, testkit.Env(tc.env), io.Discard)
		if err != nil || o.Level != "l3" {
			t.Errorf("%v %v: level %q, %v; want l3", tc.args, tc.env, o.Level, err)
		}
	}
}

func TestOPCPLCFlagsAndEnvFallbacks(t *testing.T) {
	// The accelerator's OPC PLC args, plus long forms and env for the rest.
	o, err := config.Load([]string{"--pn=4840", "--aa", "--fn=40", "--vfr=250", "--ft", "Double", "--unsecuretransport", "--slownodes=3"},
		testkit.Env(map[string]string{"EDGEFRAME_OPCPLC_DAA": "true", "EDGEFRAME_OPCPLC_PN": "1", "EDGEFRAME_OPCPLC_CHAOS": "true",
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
	_, err := config.Load([]string{"--ft=Float", "--sc=0", "--wp=70000", "--log-level=loud", "--vfr=-1", "--pn=-5"},
		testkit.Env(map[string]string{"EDGEFRAME_OPCPLC_FN": "many"}), io.Discard)
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
	o, err := config.Load([]string{"--ph=127.0.0.1", "--listen=127.0.0.1", fmt.Sprintf("--pn=%d", opc), fmt.Sprintf("--wp=%d", web), "--ut",
		"--pki=" + filepath.Join(t.TempDir(), "pki"), "--fn=5", "--vfr=100", "--writer-group=plc1"}, testkit.Env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer runApp(t, o)()
	base := fmt.Sprintf("http://127.0.0.1:%d", web)
	get := func(path string) (code int, body string) {
		testkit.EventuallyNoError(t, 60*time.Second, "GET "+path, func() error {
			resp, err := http.Get(base + path)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code, body = resp.StatusCode, string(b)
			return nil
		})
		return code, body
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
	// 4 basic + 4 anomaly + 5 fast + 1 bad fast + 1 slow + 1 bad slow + 1 GUID node (--gn defaults to 1)
	if len(e.OpcNodes) != 17 {
		t.Errorf("pn.json has %d nodes, want 17", len(e.OpcNodes))
	}
	_, metrics := get("/metrics")
	for _, m := range []string{"edgeframe_opcplc_sessions 0", "edgeframe_opcplc_subscriptions 0", "edgeframe_opcplc_monitored_items 0",
		"edgeframe_opcplc_notifications_total 0", "edgeframe_opcplc_notifications_per_second", "process_resident_memory_bytes"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
}

// OPC PLC's own sample command line and options opcplc has no use for parse, with the
// unused ones reported for a warning instead of refusing to start.
func TestOPCPLCCommandLinesWorkUnchanged(t *testing.T) {
	args := []string{"--pn=50000", "--autoaccept", "--sph", "--sn=5", "--sr=10", "--st=uint", "--fn=5", "--fr=1", "--ft=uint", "--ref", "--gn=5",
		"--at", "X509Store", "--tp=/certs/trusted", "--alm", "--ses", "--lt", "30", "--chaos=True", "--ll=trace", "--lf=/tmp/plc.log",
		"--dc=secret", "--lid", "--on", "--lsn", "--otlpee", "http://collector:4317", "--ctb"}
	o, err := config.Load(args, testkit.Env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Sim.GUIDNodes != 5 || !o.Sim.LongID || !o.Sim.Opaque || !o.Sim.LongStrings || o.Sim.Slow.Count != 5 || o.Sim.Fast.Count != 5 {
		t.Errorf("simulation %+v", o.Sim)
	}
	if o.Server.Users["user1"] != "secret" || !o.Server.Chaos || o.LogLevel != "debug" || o.LogFile != "/tmp/plc.log" {
		t.Errorf("--dc/--chaos/--ll/--lf: users %v chaos %v level %q file %q", o.Server.Users, o.Server.Chaos, o.LogLevel, o.LogFile)
	}
	if o.PNFile != "pn.json" || o.PNUseIP {
		t.Errorf("--sph: file %q by IP %v, want pn.json by host name", o.PNFile, o.PNUseIP)
	}
	got := strings.Join(o.Ignored, "\n")
	for _, want := range []string{"--at/--appcertstoretype", "--tp/--trustedcertstorepath", "--alm/--alarms", "--ses/--simpleevents", "--lt/--logflushtimespan",
		"--ref/--referencenodes", "--otlpee/--otlpendpoint", "--ctb/--complextypeboiler"} {
		if !strings.Contains(got, want) {
			t.Errorf("ignored options do not name %s:\n%s", want, got)
		}
	}
	if len(o.Ignored) != 8 {
		t.Errorf("%d ignored options, want 8:\n%s", len(o.Ignored), got)
	}
	// --dp stays an alias of --dc; OPC PLC's critical level is slog's error.
	if o, err := config.Load([]string{"--dp=other", "--loglevel=critical"}, testkit.Env(nil), io.Discard); err != nil || o.Server.Users["user1"] != "other" || o.LogLevel != "error" {
		t.Errorf("--dp/--loglevel: %v %v %q", err, o.Server.Users, o.LogLevel)
	}
	if _, err := config.Load([]string{"--ll=loud"}, testkit.Env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--ll") {
		t.Errorf("--ll=loud: %v", err)
	}
	if o, err := config.Load([]string{"--op=/UA/OpcPlc", "--mset=5000"}, testkit.Env(nil), io.Discard); err != nil || o.Server.Path != "/UA/OpcPlc" || o.Server.MaxSessionTimeout != 5*time.Second {
		t.Errorf("--op/--mset: %v %q %s", err, o.Server.Path, o.Server.MaxSessionTimeout)
	}
	if _, err := config.Load([]string{"--op=UA", "--mset=10"}, testkit.Env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--op") || !strings.Contains(err.Error(), "--mset") {
		t.Errorf("--op=UA --mset=10: %v", err)
	}
	if _, err := config.Load([]string{"--no-such-flag"}, testkit.Env(nil), io.Discard); err == nil {
		t.Error("an option OPC PLC does not have either was accepted")
	}
}

// --sph/--spf write the publishednodes file, --lf copies the logs to a file, and the
// ignored options are logged as warnings.
func TestRunWritesPublishedNodesFileAndLogFile(t *testing.T) {
	dir := t.TempDir()
	pn, logFile := filepath.Join(dir, "published.json"), filepath.Join(dir, "plc.log")
	opc := testenv.FreePort(t)
	o, err := config.Load([]string{"--ph=127.0.0.1", "--listen=127.0.0.1", fmt.Sprintf("--pn=%d", opc), "--wp=0", "--ut", "--pki=" + filepath.Join(dir, "pki"),
		"--sph", "--spf=" + pn, "--lf=" + logFile, "--gn=2", "--on", "--alm"}, testkit.Env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, o, io.Discard) }()
	var entries []struct {
		EndpointUrl string
		OpcNodes    []struct{ Id string }
	}
	testkit.EventuallyNoError(t, 60*time.Second, pn+" written", func() error {
		b, err := os.ReadFile(pn)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &entries)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].EndpointUrl != fmt.Sprintf("opc.tcp://127.0.0.1:%d", opc) {
		t.Fatalf("entries %+v", entries)
	}
	ids := ""
	for _, n := range entries[0].OpcNodes {
		ids += n.Id + "\n"
	}
	for _, want := range []string{";s=StepUp\n", ";b=YWJj\n", ";g=" + plc.GUIDs(2)[1] + "\n"} {
		if !strings.Contains(ids, want) {
			t.Errorf("published nodes lack %q:\n%s", want, ids)
		}
	}
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"msg":"opcplc running"`, `"msg":"OPC PLC option not supported, ignored"`, `--alm/--alarms`, `"msg":"publishednodes file written"`} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("log file lacks %s", want)
		}
	}
}

func TestShowPNJSONByIPAddress(t *testing.T) {
	dir := t.TempDir()
	o, err := config.Load([]string{"--ph=localhost", "--sp", "--spf=" + filepath.Join(dir, "pn.json")}, testkit.Env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.PNUseIP {
		t.Fatal("--sp does not address the server by IP")
	}
	ep, err := app.EndpointByIP(o.Server.Host, o.Server.Port)
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(ep, "opc.tcp://"), ":")
	if ip := net.ParseIP(host); ip == nil || ip.IsLoopback() || ip.To4() == nil {
		t.Errorf("--sp endpoint %s: want a non-loopback IPv4 address", ep)
	}
}
