package interop_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/pkg/opcuaraw"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
)

type hostileRequest struct {
	name  string
	write func(ch *opcuaraw.Channel) error
}

func hostileRequests() []hostileRequest {
	return []hostileRequest{
		// The 94-byte request of issue 13: LocaleIds claims 0x7fffffff strings.
		{"GetEndpoints LocaleIds 0x7fffffff", func(ch *opcuaraw.Channel) error { return ch.Send(opcuaraw.HostileGetEndpoints()) }},
		// A Write whose value nests Variant in Variant a million times (1 MB, chunked):
		// unbounded recursion overflows the goroutine stack, which Go cannot recover.
		{"Variant nested 1e6 deep", func(ch *opcuaraw.Channel) error {
			return ch.WriteFrames(ch.Chunks(opcuaraw.NestedVariantWrite(1_000_000), 60_000))
		}},
		// 1.5 GB of intermediate chunks of 25,000 requests that never finish.
		{"unfinished chunks", func(ch *opcuaraw.Channel) error {
			for range 25_000 {
				if err := ch.WriteFrames(ch.Unfinished(1, 60_000)); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

// The process-level form of issue 13's first finding: opcplc (without --ut: the
// discovery channel is open anyway, and with --ut) receives each hostile message under
// an address-space cap and must stay up and keep serving a well-behaved client.
func TestOPCPLCSurvivesHostileMessages(t *testing.T) {
	testkit.SkipShort(t, "opcplc")
	for _, unsecure := range []bool{false, true} {
		t.Run(fmt.Sprintf("ut=%v", unsecure), func(t *testing.T) {
			plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: unsecure, Args: []string{"--aa"}})
			testenv.CapAddressSpace(t, plc.PID(), 1<<30)
			addr := fmt.Sprintf("127.0.0.1:%d", plc.Port)
			for _, h := range hostileRequests() {
				name := h.name
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				ch, err := opcuaraw.Open(ctx, addr)
				if err != nil {
					cancel()
					t.Fatalf("%s: open a None channel: %v", name, err)
				}
				_ = h.write(ch) // the server may hang up early; that is fine
				// Wait for the server's verdict (an error, a fault, or hanging up).
				_ = ch.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = opcuaraw.ReadFrame(ch, 1<<24)
				ch.Close()
				cancel()
				if err := assertOPCPLCServes(plc, unsecure); err != nil {
					t.Errorf("after %q: %v%s", name, err, fatal(plc.Process))
					plc.Restart(t) // try the next message on a fresh process
					testenv.CapAddressSpace(t, plc.PID(), 1<<30)
				}
			}
		})
	}
}

// assertOPCPLCServes runs a normal gopcua client: discovery always, and a session
// reading StepUp when None is offered.
func assertOPCPLCServes(plc *testenv.OPCPLC, unsecure bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	eps, err := opcua.GetEndpoints(ctx, plc.Endpoint)
	if err != nil || len(eps) == 0 {
		return fmt.Errorf("GetEndpoints: %d endpoints, %v", len(eps), err)
	}
	if !unsecure {
		return nil
	}
	c, err := opcua.NewClient(plc.Endpoint, opcua.SecurityMode(ua.MessageSecurityModeNone), opcua.SecurityPolicy("None"),
		opcua.AuthAnonymous(), opcua.AutoReconnect(false))
	if err != nil {
		return err
	}
	if err := c.Connect(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close(context.Background())
	ns := slices.Index(c.Namespaces(), "http://microsoft.com/Opc/OpcPlc/")
	id := ua.MustParseNodeID(fmt.Sprintf("ns=%d;s=StepUp", ns))
	res, err := c.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: id, AttributeID: ua.AttributeIDValue}}})
	if err != nil || res.Results[0].Status != ua.StatusOK {
		return fmt.Errorf("read StepUp: %v %+v", err, res)
	}
	return nil
}

// fatal waits briefly for p to exit and, if it did, returns its exit and the Go
// runtime's fatal error line.
func fatal(p *testenv.Process) string {
	for deadline := time.Now().Add(3 * time.Second); !p.Exited() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !p.Exited() {
		return " (the process is still running)"
	}
	line := ""
	for _, l := range strings.Split(p.Log(), "\n") {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "runtime: ") {
			line += "\n" + l
		}
	}
	return fmt.Sprintf("\nthe process died (%v):%s", p.ExitErr(), line)
}

// rogueServer accepts OPC UA TCP connections and answers each with the next of its
// scripted hostile replies (round robin).
type rogueServer struct {
	*opcuaraw.Server
	replies []rogueReply
	served  []atomic.Int64
	next    atomic.Int64
}

// rogueReply is what the server sends after the client's HEL (ack) and OPN (opn).
type rogueReply struct {
	name string
	ack  []byte
	opn  func(reqID uint32) []byte
}

func hostileReplies() []rogueReply {
	sane := opcuaraw.Ack(opcuaraw.DefaultLimits)
	huge := opcuaraw.DefaultLimits
	huge.ReceiveBufSize, huge.MaxMessageSize, huge.MaxChunkCount = 16<<20, 0, 0
	return []rogueReply{
		// Issue 13: ResponseHeader.StringTable claims 0x7fffffff strings.
		{name: "StringTable 0x7fffffff", ack: sane, opn: opcuaraw.HostileOpenResponse},
		// A server that says it receives 4 GiB chunks: a client that sizes its own
		// receive buffer from that allocates 4 GiB per read.
		{name: "ACK ReceiveBufSize 0xffffffff", ack: opcuaraw.Ack(opcuaraw.Limits{ReceiveBufSize: 0xffffffff,
			SendBufSize: 0xffffffff, MaxMessageSize: 0xffffffff, MaxChunkCount: 0xffffffff})},
		// ServiceDiagnostics nested 2 million deep in one 2 MB chunk (the ACK invites
		// big chunks): unbounded recursion overflows the stack.
		{name: "DiagnosticInfo nested 2e6 deep", ack: opcuaraw.Ack(huge),
			opn: func(reqID uint32) []byte { return opcuaraw.NestedDiagnosticsOpenResponse(reqID, 2_000_000) }},
	}
}

func startRogueServer(t *testing.T, replies []rogueReply) *rogueServer {
	r := &rogueServer{replies: replies, served: make([]atomic.Int64, len(replies))}
	var err error
	r.Server, err = opcuaraw.Serve(func(c net.Conn) {
		i := int(r.next.Add(1)-1) % len(replies)
		r.serve(c, replies[i])
		r.served[i].Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func (r *rogueServer) serve(c net.Conn, rep rogueReply) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := opcuaraw.ReadFrame(c, 1<<16); err != nil { // HEL
		return
	}
	if _, err := c.Write(rep.ack); err != nil {
		return
	}
	opn, err := opcuaraw.ReadFrame(c, 1<<20)
	if err != nil || rep.opn == nil {
		if rep.opn == nil {
			// Answer the OPN with a frame that fills what the ACK promised.
			_, _ = c.Write(opcuaraw.Frame("OPNF", make([]byte, 1<<20)))
		}
		return
	}
	_, _ = c.Write(rep.opn(opcuaraw.RequestID(opn)))
	// Hold the connection until the client gives up.
	_, _ = opcuaraw.ReadFrame(c, 1<<20)
}

// allServed reports whether every reply was sent at least n times.
func (r *rogueServer) allServed(n int64) bool {
	for i := range r.served {
		if r.served[i].Load() < n {
			return false
		}
	}
	return true
}

// The process-level form of issue 13's second finding: one opcpublisher publishes from
// a good opcplc and is also configured with a rogue server that answers every
// connection with a hostile reply. Under an address-space cap it must stay up and keep
// publishing the good endpoint's data.
func TestPublisherSurvivesHostileServer(t *testing.T) {
	testkit.SkipShort(t, "opcplc, opcpublisher, daprd and mosquitto")
	rig := startPubRig(t)
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "1", "--vfr", "100"}})
	rogue := startRogueServer(t, hostileReplies())
	pn := fmt.Sprintf(`[{"EndpointUrl":%q,"DataSetWriterGroup":"good","OpcNodes":[
	  {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt1","OpcSamplingInterval":100,"OpcPublishingInterval":100}]},
	  {"EndpointUrl":%q,"DataSetWriterGroup":"rogue","OpcNodes":[{"Id":"i=2258"}]}]`, plc.Endpoint, rogue.Endpoint())
	bin := testenv.BuildWorkload(t, "opcpublisher")
	dir := t.TempDir()
	pf := dir + "/publishednodes.json"
	if err := os.WriteFile(pf, []byte(pn), 0o644); err != nil {
		t.Fatal(err)
	}
	web := testenv.FreePort(t)
	pub := testenv.StartProcess(t, testenv.ProcSpec{Name: "opcpublisher", Path: bin, Dir: dir,
		Args:  []string{"--pf", pf, "--dapr-grpc", rig.daprd.GRPCAddr, "--http", strconv.Itoa(web), "--pki", dir + "/pki", "--bs", "1"},
		Ready: supervise.HTTPReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", web))})
	testenv.CapAddressSpace(t, pub.PID(), 1<<30)

	testkit.EventuallyNoError(t, 90*time.Second, "the rogue server tried with every reply twice", func() error {
		if pub.Exited() {
			t.Fatalf("opcpublisher died (rogue replies served %v)%s", served(rogue), fatal(pub))
		}
		if !rogue.allServed(2) {
			return fmt.Errorf("served %v", served(rogue))
		}
		return nil
	})
	// Telemetry from the good endpoint still flows after every hostile reply.
	since := time.Now()
	rs := collect(t, rig.sub, 30*time.Second, func(rs []received) bool {
		n := 0
		for _, r := range rs {
			if r.topic == "telemetry/opcua/good" && r.at.After(since) {
				n++
			}
		}
		return n >= 5
	})
	n := 0
	for _, r := range rs {
		if r.topic == "telemetry/opcua/good" && r.at.After(since) {
			n++
		}
	}
	if n < 5 || pub.Exited() {
		t.Fatalf("%d messages from the good endpoint after the hostile replies (served %v)%s", n, served(rogue), fatal(pub))
	}
}

func served(r *rogueServer) map[string]int64 {
	m := map[string]int64{}
	for i, rep := range r.replies {
		m[rep.name] = r.served[i].Load()
	}
	return m
}
