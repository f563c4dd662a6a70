package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
)

// plcRun is what test/interop/node/opcplc_client.js prints.
type plcRun struct {
	NamespaceIndex int `json:"namespaceIndex"`
	Read           map[string]struct {
		Status   string `json:"status"`
		DataType string `json:"dataType"`
		Value    any    `json:"value"`
	} `json:"read"`
	Browse  []string             `json:"browse"`
	Changes map[string][]float64 `json:"changes"`
	Error   string               `json:"error"`
}

// startOPCPLC runs the real opcplc binary on loopback ports.
func startOPCPLC(t *testing.T, args ...string) string {
	t.Helper()
	bin := testenv.BuildWorkload(t, "opcplc")
	port := testenv.FreePort(t)
	testenv.StartProcess(t, testenv.ProcSpec{
		Name: "opcplc", Path: bin,
		Args:  append([]string{"--ph=127.0.0.1", "--listen=127.0.0.1", "--pn=" + strconv.Itoa(port), "--wp=0", "--pki=" + filepath.Join(t.TempDir(), "pki")}, args...),
		Ready: testenv.DialReady(fmt.Sprintf("127.0.0.1:%d", port)),
	})
	return fmt.Sprintf("opc.tcp://127.0.0.1:%d", port)
}

// runNodeClient runs the node-opcua client against endpoint and returns what it saw.
func runNodeClient(t *testing.T, pki string, env ...string) (plcRun, error) {
	t.Helper()
	var out plcRun
	err := runNodeScript(t, "opcplc_client.js", pki, &out, env...)
	return out, err
}

// runNodeScript runs test/interop/node/<script> with node-opcua and decodes the JSON it
// prints after "RESULT " into out.
func runNodeScript(t *testing.T, script, pki string, out any, env ...string) error {
	t.Helper()
	dir := testenv.Tool(t, "node-opcua")
	node := testenv.Tool(t, "node")
	script, err := filepath.Abs(filepath.Join("node", script))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"NODE_PATH=" + filepath.Join(dir, "node_modules"), "PKI=" + pki, "HOME=" + cmd.Dir, "PATH=/usr/bin:/bin"}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, lastLine(stderr.String()))
	}
	if err := json.Unmarshal([]byte(resultLine(stdout.String())), out); err != nil {
		t.Fatalf("client output %q: %v\nstderr: %s", stdout.String(), err, stderr.String())
	}
	return nil
}

// resultLine is the JSON the client prints after "RESULT " (node-opcua logs to stdout too).
func resultLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if r, ok := strings.CutPrefix(l, "RESULT "); ok {
			return r
		}
	}
	return ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// A node-opcua client (an implementation we did not write) reads, browses and
// subscribes to our opcplc.
func TestNodeOPCUAClientReadsBrowsesAndSubscribesToOPCPLC(t *testing.T) {
	ep := startOPCPLC(t, "--ut", "--aa", "--fn=3", "--vfr=100")
	pki := filepath.Join(t.TempDir(), "client-pki")
	run, err := runNodeClient(t, pki, "ENDPOINT="+ep, "READ=StepUp,FastUInt1,SpikeData,AlternatingBoolean",
		"BROWSE=Fast", "WATCH=FastUInt1,FastUInt3", "SAMPLING=100", "DURATION=2500")
	if err != nil {
		t.Fatal(err)
	}
	if run.Error != "" {
		t.Fatal(run.Error)
	}
	for name, want := range map[string]string{"StepUp": "UInt32", "FastUInt1": "UInt32", "SpikeData": "Double", "AlternatingBoolean": "Boolean"} {
		got := run.Read[name]
		if got.Status != "Good" || got.DataType != want {
			t.Errorf("read %s: %+v, want Good %s", name, got, want)
		}
	}
	if want := []string{"BadFastUInt1", "FastUInt1", "FastUInt2", "FastUInt3"}; !slices.Equal(run.Browse, want) {
		t.Errorf("browse Fast: %v, want %v", run.Browse, want)
	}
	for _, name := range []string{"FastUInt1", "FastUInt3"} {
		vs := run.Changes[name]
		if len(vs) < 18 {
			t.Errorf("%s: %d changes in 2.5 s at 100 ms, want about 25", name, len(vs))
			continue
		}
		for i := 1; i < len(vs); i++ {
			if vs[i] != vs[i-1]+1 {
				t.Errorf("%s: %v followed by %v, want every change", name, vs[i-1], vs[i])
			}
		}
	}
}

// node-opcua connects over Basic256Sha256 Sign and SignAndEncrypt with each user; a
// wrong password is refused.
func TestNodeOPCUAClientSecurityModesAndUsers(t *testing.T) {
	ep := startOPCPLC(t, "--aa")
	pki := filepath.Join(t.TempDir(), "client-pki")
	for _, tc := range []struct {
		mode, user, pass, wantErr string
	}{
		{"SignAndEncrypt", "", "", ""},
		{"SignAndEncrypt", "user1", "password", ""},
		{"Sign", "sysadmin", "demo", ""},
		{"Sign", "sysadmin", "wrong", "BadUserAccessDenied"},
	} {
		t.Run(tc.mode+"/"+tc.user, func(t *testing.T) {
			run, err := runNodeClient(t, pki, "ENDPOINT="+ep, "MODE="+tc.mode, "USER="+tc.user, "PASS="+tc.pass)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := run.Read["StepUp"]; r.Status != "Good" || r.DataType != "UInt32" {
				t.Errorf("read StepUp: %+v", r)
			}
		})
	}
}
