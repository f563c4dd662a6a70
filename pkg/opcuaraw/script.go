package opcuaraw

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"
)

// A Script is a fuzzer-friendly encoding of what a peer sends on a connection: a
// sequence of records, each a kind byte, a little-endian uint16 length and that many
// payload bytes. Kinds (anything else is a raw record):
//
//	'F', 'C', 'A'  a MSG chunk (final, intermediate, abort) whose body is the payload
//	'L'            a final CLO chunk with the payload as body
//	'O'            an OPN chunk (None) with the payload as body
//	'R'            the payload written as is (any frame, or none)
//
// Channel id, token id, sequence numbers and request ids are filled in for the
// channel the records are sent on: the request id advances after every final or
// abort chunk, so 'C' records followed by an 'F' form one chunked message.
type Script []byte

// Record appends one record (payloads beyond 65535 bytes are split into several
// records of the same kind).
func (s Script) Record(kind byte, payload []byte) Script {
	for {
		n := min(len(payload), 0xffff)
		s = append(s, kind, byte(n), byte(n>>8))
		s = append(s, payload[:n]...)
		payload = payload[n:]
		if len(payload) == 0 {
			return s
		}
	}
}

// Records decodes s; a truncated last record is returned as far as it goes.
func (s Script) Records(yield func(kind byte, payload []byte) bool) {
	for len(s) >= 3 {
		n := int(binary.LittleEndian.Uint16(s[1:3]))
		kind, rest := s[0], s[3:]
		n = min(n, len(rest))
		if !yield(kind, rest[:n]) {
			return
		}
		s = rest[n:]
	}
}

// Frames turns the records into frames for a channel with the given ids.
func (s Script) Frames(channelID, tokenID uint32) [][]byte {
	var out [][]byte
	seq, req := uint32(1), uint32(1)
	for kind, p := range s.Records {
		seq++
		switch kind {
		case 'F', 'A':
			out = append(out, Chunk("MSG", kind, channelID, tokenID, seq, req, p))
			req++
		case 'C':
			out = append(out, Chunk("MSG", kind, channelID, tokenID, seq, req, p))
		case 'L':
			out = append(out, Chunk("CLO", 'F', channelID, tokenID, seq, req, p))
			req++
		case 'O':
			out = append(out, OPN(channelID, seq, req, p))
			req++
		default:
			out = append(out, p)
		}
	}
	return out
}

// Drain half-closes c (when it is TCP: the peer sees the end of the stream) and reads
// what the peer sends until it closes the connection, d passes or max bytes have come;
// it returns how many bytes arrived.
func Drain(c net.Conn, d time.Duration, max int64) int64 {
	if ch, ok := c.(*Channel); ok {
		c = ch.Conn
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, _ := io.Copy(io.Discard, io.LimitReader(c, max))
	return n
}

// Server is a loopback TCP server that hands each connection to a handler: the peer
// side of the robustness tests (a rogue or scripted OPC UA server).
type Server struct {
	l  net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

// Serve listens on a free loopback port and runs handle for every connection (the
// connection is closed when handle returns).
func Serve(handle func(c net.Conn)) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{l: l}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return s, nil
}

// Endpoint is the server's opc.tcp URL.
func (s *Server) Endpoint() string { return "opc.tcp://" + s.l.Addr().String() }

// Close stops listening, closes every connection and waits for the handlers.
func (s *Server) Close() {
	s.l.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
