package server_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/pkg/opcuaraw"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/server"
)

// Fuzz inputs for the server's connection handler. The first byte picks the mode: even
// = the harness does HEL/ACK and opens a None channel, then sends the rest as an
// opcuaraw.Script on it (MSG/CLO/OPN chunks with valid ids); odd = the rest is written
// raw from the first byte of the connection (HEL and everything else fuzzed).
const (
	modeChannel byte = 0
	modeRaw     byte = 1
)

// maxFuzzInput keeps inputs small enough to mutate and minimize quickly.
const maxFuzzInput = 64 << 10

func serverSeeds() [][]byte {
	hdr := &ua.RequestHeader{AuthenticationToken: ua.NewTwoByteNodeID(0), Timestamp: time.Now(), RequestHandle: 9,
		AdditionalHeader: ua.NewExtensionObject(nil)}
	getEndpoints := opcuaraw.MustBody(&ua.GetEndpointsRequest{RequestHeader: hdr, EndpointURL: "opc.tcp://127.0.0.1"})
	read := opcuaraw.MustBody(&ua.ReadRequest{RequestHeader: hdr, NodesToRead: []*ua.ReadValueID{
		{NodeID: ua.NewNumericNodeID(0, 2258), AttributeID: ua.AttributeIDValue}}})
	createSession := opcuaraw.MustBody(&ua.CreateSessionRequest{RequestHeader: hdr, ClientDescription: &ua.ApplicationDescription{ApplicationName: &ua.LocalizedText{}},
		EndpointURL: "opc.tcp://127.0.0.1", SessionName: "fuzz", RequestedSessionTimeout: 60000})
	closeChannel := opcuaraw.MustBody(&ua.CloseSecureChannelRequest{RequestHeader: hdr})
	// Deeper than the decoder's nesting limit. (The multi-megabyte attacks, a million
	// levels and unfinished chunks beyond MaxMessageSize, are in
	// test/interop/opcua_hostile_test.go: inputs that large stall the fuzzer.)
	nested := opcuaraw.NestedVariantWrite(5_000)
	ch := func(s opcuaraw.Script) []byte { return append([]byte{modeChannel}, s...) }
	raw := func(frames ...[]byte) []byte {
		b := []byte{modeRaw}
		for _, f := range frames {
			b = append(b, f...)
		}
		return b
	}
	tiny := opcuaraw.Limits{ReceiveBufSize: 1, SendBufSize: 1, MaxMessageSize: 1, MaxChunkCount: 1}
	huge := opcuaraw.Limits{ReceiveBufSize: 0xffffffff, SendBufSize: 0xffffffff}
	return [][]byte{
		ch(opcuaraw.Script(nil).Record('F', getEndpoints)),
		ch(opcuaraw.Script(nil).Record('F', opcuaraw.HostileGetEndpoints())),
		ch(opcuaraw.Script(nil).Record('C', read[:10]).Record('C', read[10:20]).Record('F', read[20:])),
		ch(opcuaraw.Script(nil).Record('C', read[:10]).Record('A', []byte{0, 0, 0x80, 0x80, 0xff, 0xff, 0xff, 0xff})),
		ch(opcuaraw.Script(nil).Record('F', createSession).Record('F', read)),
		ch(opcuaraw.Script(nil).Record('O', opcuaraw.OpenRequest()).Record('L', closeChannel)),
		ch(opcuaraw.Script(nil).Record('C', nested[:len(nested)/2]).Record('F', nested[len(nested)/2:])),
		ch(opcuaraw.Script(nil).Record('C', make([]byte, 1000)).Record('C', nil).Record('F', getEndpoints)),
		ch(opcuaraw.Script(nil).Record('R', opcuaraw.Frame("MSGF", []byte{1, 2, 3}))),
		raw(opcuaraw.Hello("opc.tcp://x", tiny)),
		raw(opcuaraw.Hello("opc.tcp://x", huge), opcuaraw.OPN(0, 1, 1, opcuaraw.OpenRequest())),
		raw(opcuaraw.Frame("HELF", nil)),
		raw([]byte("GET / HTTP/1.1\r\n\r\n")),
	}
}

// FuzzServerConnection feeds raw OPC UA TCP messages to a real opcplc server over
// loopback, under an address-space cap (2 GiB over the process's size): a length on the
// wire that makes the server allocate or recurse without bound kills the fuzz process,
// which the fuzzer reports as a crash. The seeds run in `make test`.
func FuzzServerConnection(f *testing.F) {
	h := start(f, func(c *server.Config, _ *plc.Config) { c.UnsecureTransport, c.AutoAccept = true, true })
	addr := net.JoinHostPort(h.cfg.Listen, strconv.Itoa(h.cfg.Port))
	testenv.CapAddressSpace(f, 0, 2<<30)
	for _, s := range serverSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 || len(in) > maxFuzzInput {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		var c net.Conn
		var frames [][]byte
		if in[0]%2 == modeRaw {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				t.Fatalf("server gone: %v", err)
			}
			c, frames = conn, [][]byte{in[1:]}
		} else {
			ch, err := opcuaraw.Open(ctx, addr)
			if err != nil {
				t.Fatalf("server gone: %v", err)
			}
			c, frames = ch, opcuaraw.Script(in[1:]).Frames(ch.ID, ch.Token)
		}
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		for _, fr := range frames {
			if _, err := c.Write(fr); err != nil {
				break // the server hung up
			}
		}
		opcuaraw.Drain(c, 500*time.Millisecond, 64<<20)
	})
}
