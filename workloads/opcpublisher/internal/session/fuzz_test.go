package session_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/pkg/opcuaraw"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// scriptedServer answers a client's frames from an opcuaraw.Script: after each frame it
// reads (HEL, OPN, MSG…) it sends records up to and including the next one that is not
// an intermediate chunk, with the channel (1), token (1) and the request id of the
// frame it answers filled in (CLO frames are not answered). The script continues across connections; when it runs
// out the connection is closed.
type scriptedServer struct {
	*opcuaraw.Server

	mu   sync.Mutex
	recs []record
}

type record struct {
	kind    byte
	payload []byte
}

func startScripted(t *testing.T, s opcuaraw.Script) *scriptedServer {
	srv := &scriptedServer{}
	for k, p := range s.Records {
		srv.recs = append(srv.recs, record{k, p})
	}
	var err error
	if srv.Server, err = opcuaraw.Serve(srv.serve); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func (s *scriptedServer) next() (record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recs) == 0 {
		return record{}, false
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return r, true
}

func (s *scriptedServer) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	seq := uint32(1)
	for {
		in, err := opcuaraw.ReadFrame(c, 1<<20)
		if err != nil {
			return
		}
		if string(in[:3]) == "CLO" {
			continue // CloseSecureChannel has no response
		}
		req := opcuaraw.RequestID(in)
		for {
			r, ok := s.next()
			if !ok {
				return
			}
			seq++
			var f []byte
			switch r.kind {
			case 'F', 'C', 'A':
				f = opcuaraw.Chunk("MSG", r.kind, 1, 1, seq, req, r.payload)
			case 'O':
				f = opcuaraw.OPN(1, seq, req, r.payload)
			default:
				f = r.payload
			}
			if _, err := c.Write(f); err != nil {
				return
			}
			if r.kind != 'C' {
				break
			}
		}
	}
}

func clientSeeds() [][]byte {
	now := time.Now()
	rh := func() *ua.ResponseHeader {
		return &ua.ResponseHeader{Timestamp: now, RequestHandle: 1, ServiceDiagnostics: &ua.DiagnosticInfo{},
			StringTable: []string{}, AdditionalHeader: ua.NewExtensionObject(nil)}
	}
	open := opcuaraw.MustBody(&ua.OpenSecureChannelResponse{ResponseHeader: rh(),
		SecurityToken: &ua.ChannelSecurityToken{ChannelID: 1, TokenID: 1, CreatedAt: now, RevisedLifetime: 600000}, ServerNonce: []byte{}})
	ep := &ua.EndpointDescription{EndpointURL: "opc.tcp://127.0.0.1:4840", SecurityMode: ua.MessageSecurityModeNone,
		SecurityPolicyURI: ua.SecurityPolicyURINone, Server: &ua.ApplicationDescription{ApplicationName: &ua.LocalizedText{}},
		UserIdentityTokens: []*ua.UserTokenPolicy{{PolicyID: "anonymous", TokenType: ua.UserTokenTypeAnonymous}}}
	endpoints := opcuaraw.MustBody(&ua.GetEndpointsResponse{ResponseHeader: rh(), Endpoints: []*ua.EndpointDescription{ep}})
	session := opcuaraw.MustBody(&ua.CreateSessionResponse{ResponseHeader: rh(), SessionID: ua.NewNumericNodeID(1, 1),
		AuthenticationToken: ua.NewNumericNodeID(1, 2), RevisedSessionTimeout: 60000, ServerEndpoints: []*ua.EndpointDescription{ep},
		ServerSignature: &ua.SignatureData{}, MaxRequestMessageSize: 0})
	activate := opcuaraw.MustBody(&ua.ActivateSessionResponse{ResponseHeader: rh(), ServerNonce: []byte{}})
	read := opcuaraw.MustBody(&ua.ReadResponse{ResponseHeader: rh(), Results: []*ua.DataValue{
		{EncodingMask: ua.DataValueValue, Value: ua.MustVariant([]string{"http://opcfoundation.org/UA/"})}}})
	ack := opcuaraw.Ack(opcuaraw.DefaultLimits)
	hugeAck := opcuaraw.Ack(opcuaraw.Limits{ReceiveBufSize: 0xffffffff, SendBufSize: 0xffffffff, MaxMessageSize: 0xffffffff, MaxChunkCount: 0xffffffff})
	bigAck := opcuaraw.Ack(opcuaraw.Limits{ReceiveBufSize: 1 << 20, SendBufSize: 65535})
	sc := func() opcuaraw.Script { return opcuaraw.Script(nil) }
	full := sc().Record('R', ack).Record('O', open).Record('F', endpoints). // GetEndpoints
										Record('R', ack).Record('O', open).Record('F', session).Record('F', activate).Record('F', read).Record('F', read) // session
	return [][]byte{
		full,
		sc().Record('R', ack).Record('R', opcuaraw.HostileOpenResponse(1)),
		sc().Record('R', hugeAck).Record('R', opcuaraw.Frame("OPNF", make([]byte, 1<<10))),
		sc().Record('R', bigAck).Record('R', opcuaraw.NestedDiagnosticsOpenResponse(1, 5_000)),
		sc().Record('R', ack).Record('O', open).Record('C', endpoints[:20]).Record('C', endpoints[20:40]).Record('F', endpoints[40:]),
		sc().Record('R', ack).Record('O', open).Record('A', []byte{0, 0, 0x80, 0x80, 0xff, 0xff, 0xff, 0xff}),
		sc().Record('R', opcuaraw.Frame("ERRF", []byte{0, 0, 0x80, 0x80, 0xff, 0xff, 0xff, 0xff})),
		sc().Record('R', []byte("HTTP/1.1 400 Bad Request\r\n\r\n")),
	}
}

// FuzzClientResponses feeds raw OPC UA TCP messages (ACK, OPN, chunked MSG, ERR) from a
// scripted server to the gopcua client calls opcpublisher's sessions make (discovery,
// then a None session and a Read), under an address-space cap (2 GiB over the process's
// size): a response length or depth that makes the client allocate or recurse without
// bound kills the fuzz process, which the fuzzer reports as a crash.
func FuzzClientResponses(f *testing.F) {
	testenv.CapAddressSpace(f, 0, 2<<30)
	for _, s := range clientSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			return
		}
		srv := startScripted(t, opcuaraw.Script(in))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, err := opcua.GetEndpoints(ctx, srv.Endpoint()); err != nil {
			t.Logf("GetEndpoints: %v", err)
			return
		}
		c, err := opcua.NewClient(srv.Endpoint(), opcua.SecurityMode(ua.MessageSecurityModeNone), opcua.SecurityPolicy("None"),
			opcua.AuthAnonymous(), opcua.AutoReconnect(false), opcua.RequestTimeout(500*time.Millisecond), opcua.DialTimeout(500*time.Millisecond))
		if err != nil {
			return
		}
		defer func() {
			cctx, ccancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			_ = c.Close(cctx)
			ccancel()
		}()
		if err := c.Connect(ctx); err != nil {
			t.Logf("Connect: %v", err)
			return
		}
		_, err = c.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: ua.NewNumericNodeID(0, 2258), AttributeID: ua.AttributeIDValue}}})
		t.Logf("Read: %v", err)
	})
}
