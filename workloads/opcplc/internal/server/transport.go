package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uacp"
	"github.com/gopcua/opcua/uapolicy"
	"github.com/gopcua/opcua/uasc"
)

// gopcua v0.8.0's server cannot open a Sign or SignAndEncrypt secure channel: its
// channel broker creates every channel in mode None, and uasc then skips decrypting
// the client's first (asymmetrically encrypted) OpenSecureChannel request. So opcplc
// runs its own channel broker on gopcua's uacp and uasc packages: after the UA TCP
// HEL/ACK it peeks (MSG_PEEK, nothing consumed) at the OPN's plaintext security header
// to learn the requested policy, and creates the uasc channel with a matching mode.
// It then dispatches every request to our service handlers.

// channel is one secure channel and the TCP connection under it.
type channel struct {
	id   uint32
	conn *uacp.Conn
	sc   *uasc.SecureChannel
	cfg  *uasc.Config // uasc writes the negotiated mode and client certificate here
}

// handler is a service implementation.
type handler func(ch *channel, r ua.Request, reqID uint32) (ua.Response, error)

// typed adapts a service implementation that takes one request type: a request of any
// other type is answered BadRequestTypeInvalid.
func typed[R ua.Request](h func(ch *channel, req R, reqID uint32) (ua.Response, error)) handler {
	return func(ch *channel, r ua.Request, reqID uint32) (ua.Response, error) {
		req, ok := r.(R)
		if !ok {
			return fault(r, ua.StatusBadRequestTypeInvalid)
		}
		return h(ch, req, reqID)
	}
}

// inSession adapts a service that runs in the activated session of the request; without
// one the request is answered with the status of Server.session.
func inSession[R ua.Request](s *Server, h func(sess *session, req R) (ua.Response, error)) handler {
	return typed(func(ch *channel, req R, _ uint32) (ua.Response, error) {
		sess, code := s.session(ch, req.Header())
		if code != ua.StatusOK {
			return fault(req, code)
		}
		return h(sess, req)
	})
}

// inSubscription adapts a service that acts on the subscription subID(req) of the
// request's session; a subscription the session does not own is BadSubscriptionIDInvalid.
func inSubscription[R ua.Request](s *Server, subID func(R) uint32, h func(sub *subscription, req R) (ua.Response, error)) handler {
	return inSession(s, func(sess *session, req R) (ua.Response, error) {
		sub := s.ownSub(sess, subID(req))
		if sub == nil {
			return fault(req, ua.StatusBadSubscriptionIDInvalid)
		}
		return h(sub, req)
	})
}

// peekLimit bounds how much of the first OPN message is peeked at (policy URI and the
// client certificate).
const peekLimit = 32 << 10

// opnHeader is the plaintext start of an OpenSecureChannel request.
type opnHeader struct {
	policy string
	cert   []byte // SenderCertificate; nil for policy None
}

// peekOPN reads, without consuming, the asymmetric security header of the OPN message
// the client sends after HEL/ACK (OPC 10000-6 §6.7.2.3).
func peekOPN(c *uacp.Conn, timeout time.Duration) (opnHeader, error) {
	raw, err := c.TCPConn.SyscallConn()
	if err != nil {
		return opnHeader{}, err
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, peekLimit)
	for {
		var n int
		var perr error
		err := raw.Read(func(fd uintptr) bool {
			n, _, perr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
			return !errors.Is(perr, syscall.EAGAIN)
		})
		if err != nil {
			return opnHeader{}, err
		}
		if perr != nil {
			return opnHeader{}, perr
		}
		if n == 0 {
			return opnHeader{}, io.EOF
		}
		h, complete, err := parseOPN(buf[:n])
		if err != nil || complete {
			return h, err
		}
		if n == len(buf) || time.Now().After(deadline) {
			return opnHeader{}, errors.New("incomplete OpenSecureChannel header")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// parseOPN decodes the policy URI and sender certificate from the start of an OPN
// chunk; complete is false while too few bytes have arrived.
func parseOPN(b []byte) (h opnHeader, complete bool, err error) {
	const fixed = 12 // MessageType(3) ChunkType(1) MessageSize(4) SecureChannelId(4)
	if len(b) < 3 {
		return h, false, nil
	}
	if string(b[:3]) != "OPN" {
		return h, true, fmt.Errorf("first message after HEL is %q, want OPN", b[:3])
	}
	off := fixed
	field := func(limit int) ([]byte, bool, error) {
		if len(b) < off+4 {
			return nil, false, nil
		}
		l := int32(binary.LittleEndian.Uint32(b[off : off+4]))
		off += 4
		switch {
		case l <= 0:
			return nil, true, nil
		case int(l) > limit:
			return nil, true, fmt.Errorf("OPN header field of %d bytes", l)
		case len(b) < off+int(l):
			return nil, false, nil
		}
		v := b[off : off+int(l)]
		off += int(l)
		return v, true, nil
	}
	pol, ok, err := field(256)
	if !ok || err != nil {
		return h, err != nil, err
	}
	h.policy = string(pol)
	if pol == nil {
		h.policy = ua.SecurityPolicyURINone
	}
	if h.policy == ua.SecurityPolicyURINone {
		return h, true, nil
	}
	cert, ok, err := field(peekLimit - 64)
	if !ok || err != nil {
		return h, err != nil, err
	}
	h.cert = append([]byte(nil), cert...)
	return h, true, nil
}

// serve accepts TCP connections until the listener closes. The UA TCP handshake runs
// on each connection's own goroutine (uacp.Listener.Accept would run it inline, so one
// silent client — a port probe — would block every other one).
func (s *Server) serve(ctx context.Context, l net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("accept failed", "error", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := handshake(c.(*net.TCPConn), 10*time.Second)
			if err != nil {
				s.log.Debug("ua tcp handshake failed", "remote", c.RemoteAddr().String(), "error", err)
				_ = c.Close()
				return
			}
			s.serveConn(ctx, conn)
		}()
	}
}

// handshake answers the client's HEL with an ACK whose buffer sizes and limits fit both
// sides and stay within ours (OPC 10000-6 §7.1.2.3, §7.1.2.4; uacp.NegotiateServer).
// A HEL with buffers below the 8192-byte minimum is refused.
func handshake(tc *net.TCPConn, timeout time.Duration) (*uacp.Conn, error) {
	ours := *uacp.DefaultServerACK
	c, err := uacp.NewConn(tc, &ours)
	if err != nil {
		return nil, err
	}
	_ = tc.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = tc.SetDeadline(time.Time{}) }()
	b, err := c.Receive()
	if err != nil {
		return nil, err
	}
	if len(b) < 8 || string(b[:4]) != "HELF" {
		c.SendError(ua.StatusBadTCPMessageTypeInvalid)
		return nil, fmt.Errorf("first message is not HEL")
	}
	hel := new(uacp.Hello)
	if _, err := hel.Decode(b[8:]); err != nil {
		c.SendError(ua.StatusBadTCPInternalError)
		return nil, fmt.Errorf("decode HEL: %w", err)
	}
	ack, err := uacp.NegotiateServer(uacp.DefaultServerACK, hel)
	if err != nil {
		c.SendError(ua.StatusBadTCPNotEnoughResources)
		return nil, err
	}
	ours = *ack // c receives and sends within the negotiated limits from now on
	if err := c.Send("ACKF", &ours); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Server) serveConn(ctx context.Context, c *uacp.Conn) {
	defer c.Close()
	opn, err := peekOPN(c, 10*time.Second)
	if err != nil {
		s.log.Debug("no OpenSecureChannel", "remote", c.RemoteAddr().String(), "error", err)
		return
	}
	policy := opn.policy
	cfg := &uasc.Config{SecurityPolicyURI: policy, SecurityMode: ua.MessageSecurityModeNone, Certificate: s.ident.CertDER,
		LocalKey: s.ident.Key, Lifetime: uint32(time.Hour / time.Millisecond)}
	if opn.cert != nil {
		// uasc never fills in the receiver thumbprint of its OPN response; strict
		// clients (node-opcua) drop a response without it.
		cfg.RemoteCertificate, cfg.Thumbprint = opn.cert, uapolicy.Thumbprint(opn.cert)
	}
	switch {
	case policy == ua.SecurityPolicyURINone:
		// Always open: discovery (GetEndpoints, FindServers) works over None even
		// without --ut; dispatch refuses everything else on such a channel.
	case policy == ua.SecurityPolicyURIBasic256Sha256:
		cfg.SecurityMode = ua.MessageSecurityModeSign // the real mode comes with the OPN request
	default:
		s.m.rejected.WithLabelValues("security_policy").Inc()
		s.log.Warn("secure channel refused", "remote", c.RemoteAddr().String(), "policy", policy)
		c.SendError(ua.StatusBadSecurityPolicyRejected)
		return
	}
	s.mu.Lock()
	s.nextChannel++
	id := s.nextChannel
	s.mu.Unlock()
	errCh := make(chan error, 1)
	sc, err := uasc.NewServerSecureChannel(s.Endpoint(), c, cfg, errCh, id, uint32(rand.IntN(1023)+1), id)
	if err != nil {
		s.log.Warn("secure channel not created", "error", err)
		return
	}
	ch := &channel{id: id, conn: c, sc: sc, cfg: cfg}
	s.mu.Lock()
	s.channels[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.channels, id)
		s.mu.Unlock()
	}()
	for ctx.Err() == nil {
		msg := sc.Receive(ctx)
		if msg.Err != nil {
			if !errors.Is(msg.Err, io.EOF) && ctx.Err() == nil {
				s.log.Debug("secure channel ended", "channel", id, "error", msg.Err)
			}
			return
		}
		req := msg.Request()
		if req == nil {
			continue // OpenSecureChannel, handled inside uasc
		}
		s.dispatch(ctx, ch, msg.RequestID, req)
	}
}

func (s *Server) dispatch(ctx context.Context, ch *channel, reqID uint32, req ua.Request) {
	// A service that panics on some request answers it BadInternalError instead of
	// taking every other client down with the process.
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("service panicked", "channel", ch.id, "request", fmt.Sprintf("%T", req), "panic", fmt.Sprint(r))
			if resp, _ := fault(req, ua.StatusBadInternalError); resp != nil {
				_ = ch.sc.SendResponseWithContext(ctx, reqID, resp)
			}
		}
	}()
	typeID := ua.ServiceTypeID(req)
	h, ok := s.handlers[typeID]
	var resp ua.Response
	var err error
	discovery := typeID == id.GetEndpointsRequest_Encoding_DefaultBinary || typeID == id.FindServersRequest_Encoding_DefaultBinary
	if ok && !discovery && !s.offers(ch.cfg.SecurityPolicyURI, ch.cfg.SecurityMode) {
		s.m.rejected.WithLabelValues("security_policy").Inc()
		resp, err = fault(req, ua.StatusBadSecurityPolicyRejected)
	} else if ok {
		resp, err = h(ch, req, reqID)
	} else {
		resp, err = fault(req, ua.StatusBadServiceUnsupported)
	}
	if err != nil {
		code := ua.StatusBadUnexpectedError
		var sc ua.StatusCode
		if errors.As(err, &sc) {
			code = sc
		}
		resp, _ = fault(req, code)
	}
	if resp == nil {
		return // answered later (Publish)
	}
	if err := ch.sc.SendResponseWithContext(ctx, reqID, resp); err != nil {
		s.log.Debug("response not sent", "channel", ch.id, "error", err)
	}
}
