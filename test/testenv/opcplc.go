package testenv

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
)

// OPCPLCSpec configures a real opcplc (built from ./workloads/opcplc with BuildWorkload).
type OPCPLCSpec struct {
	// Args are extra opcplc flags (--fn, --vfr, --aa, …). --pn, --ph, --wp and --pki are set.
	Args []string
	// Dir is the working directory and PKI location ("" = a temp dir); reuse it across
	// restarts so the server keeps its certificate.
	Dir string
	// Unsecure adds --ut (SecurityPolicy None) and --aa; most client tests want it.
	Unsecure bool
}

// OPCPLC is a running opcplc.
type OPCPLC struct {
	*Process
	Port     int
	WebPort  int
	Endpoint string // opc.tcp://127.0.0.1:Port
	WebURL   string // http://127.0.0.1:WebPort
}

// StartOPCPLC builds and starts opcplc on free loopback ports and waits for /readyz.
func StartOPCPLC(t testing.TB, spec OPCPLCSpec) *OPCPLC {
	t.Helper()
	bin := BuildWorkload(t, "opcplc")
	port, web := FreePort(t), FreePort(t)
	if spec.Dir == "" {
		spec.Dir = t.TempDir()
	}
	args := []string{"--pn", strconv.Itoa(port), "--ph", "127.0.0.1", "--wp", strconv.Itoa(web), "--pki", spec.Dir + "/pki"}
	if spec.Unsecure {
		args = append(args, "--ut", "--aa")
	}
	args = append(args, spec.Args...)
	p := StartProcess(t, ProcSpec{Name: "opcplc", Path: bin, Args: args, Dir: spec.Dir, ReadyTimeout: 60 * time.Second,
		Ready: supervise.HTTPReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", web))})
	return &OPCPLC{Process: p, Port: port, WebPort: web,
		Endpoint: fmt.Sprintf("opc.tcp://127.0.0.1:%d", port), WebURL: fmt.Sprintf("http://127.0.0.1:%d", web)}
}
