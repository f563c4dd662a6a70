// Package opcuaraw builds and reads raw OPC UA TCP messages (HEL, ACK, ERR, OPN, MSG, CLO
// chunks; OPC 10000-6 §7.1 and §6.7) byte for byte, without a secure channel behind them.
// It exists for the robustness tests and fuzz targets of opcplc and opcpublisher, which
// must be able to send what no well-behaved stack sends: hostile length fields, odd
// chunking, truncated frames. Only SecurityPolicy None is spoken.
package opcuaraw

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"
)

// headerLen is MessageType(3) ChunkType(1) MessageSize(4).
const headerLen = 8

// Frame is MessageType+ChunkType (e.g. "MSGF") followed by payload, with the size set.
func Frame(typ string, payload []byte) []byte {
	if len(typ) != 4 {
		panic("opcuaraw: frame type must be 4 bytes, got " + typ)
	}
	b := make([]byte, headerLen, headerLen+len(payload))
	copy(b, typ)
	binary.LittleEndian.PutUint32(b[4:], uint32(headerLen+len(payload)))
	return append(b, payload...)
}

// Limits are the buffer sizes and limits of a HEL or ACK.
type Limits struct {
	ReceiveBufSize, SendBufSize, MaxMessageSize, MaxChunkCount uint32
}

// DefaultLimits are what a typical client or server announces.
var DefaultLimits = Limits{ReceiveBufSize: 65535, SendBufSize: 65535, MaxMessageSize: 2 << 20, MaxChunkCount: 512}

func (l Limits) put(w *ua.Buffer) {
	w.WriteUint32(0) // ProtocolVersion
	w.WriteUint32(l.ReceiveBufSize)
	w.WriteUint32(l.SendBufSize)
	w.WriteUint32(l.MaxMessageSize)
	w.WriteUint32(l.MaxChunkCount)
}

// Hello is a HEL message.
func Hello(endpoint string, l Limits) []byte {
	w := ua.NewBuffer(nil)
	l.put(w)
	w.WriteString(endpoint)
	return Frame("HELF", w.Bytes())
}

// Ack is an ACK message.
func Ack(l Limits) []byte {
	w := ua.NewBuffer(nil)
	l.put(w)
	return Frame("ACKF", w.Bytes())
}

// Body is the encoded service v preceded by its binary encoding id.
func Body(v any) ([]byte, error) {
	tid := ua.ServiceTypeID(v)
	if tid == 0 {
		return nil, fmt.Errorf("opcuaraw: %T is not a service", v)
	}
	w := ua.NewBuffer(nil)
	w.WriteStruct(ua.NewFourByteExpandedNodeID(0, tid))
	w.WriteStruct(v)
	return w.Bytes(), w.Error()
}

// MustBody is Body for values known to encode.
func MustBody(v any) []byte {
	b, err := Body(v)
	if err != nil {
		panic(err)
	}
	return b
}

// OPN is a final OpenSecureChannel chunk with SecurityPolicy None.
func OPN(channelID, seq, reqID uint32, body []byte) []byte {
	w := ua.NewBuffer(nil)
	w.WriteUint32(channelID)
	w.WriteString(ua.SecurityPolicyURINone)
	w.WriteByteString(nil) // SenderCertificate
	w.WriteByteString(nil) // ReceiverCertificateThumbprint
	w.WriteUint32(seq)
	w.WriteUint32(reqID)
	w.Write(body)
	return Frame("OPNF", w.Bytes())
}

// Chunk is one symmetric chunk: typ is "MSG" or "CLO", kind 'F' (final), 'C'
// (intermediate) or 'A' (abort).
func Chunk(typ string, kind byte, channelID, tokenID, seq, reqID uint32, body []byte) []byte {
	w := ua.NewBuffer(nil)
	w.WriteUint32(channelID)
	w.WriteUint32(tokenID)
	w.WriteUint32(seq)
	w.WriteUint32(reqID)
	w.Write(body)
	return Frame(typ+string(kind), w.Bytes())
}

// OpenRequest is the body of a None OpenSecureChannel request.
func OpenRequest() []byte {
	return MustBody(&ua.OpenSecureChannelRequest{
		RequestHeader: &ua.RequestHeader{AuthenticationToken: ua.NewTwoByteNodeID(0), Timestamp: time.Now(),
			RequestHandle: 1, AdditionalHeader: ua.NewExtensionObject(nil)},
		RequestType: ua.SecurityTokenRequestTypeIssue, SecurityMode: ua.MessageSecurityModeNone,
		RequestedLifetime: 600000,
	})
}

// ReadFrame reads one message of at most max bytes.
func ReadFrame(r io.Reader, max uint32) ([]byte, error) {
	h := make([]byte, headerLen)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(h[4:])
	if n < headerLen || n > max {
		return nil, fmt.Errorf("opcuaraw: %s frame of %d bytes (limit %d)", h[:4], n, max)
	}
	b := make([]byte, n)
	copy(b, h)
	if _, err := io.ReadFull(r, b[headerLen:]); err != nil {
		return nil, err
	}
	return b, nil
}

// Decode decodes the service in a final MSG or OPN frame received over None.
func Decode(frame []byte) (any, error) {
	m := new(uasc.MessageChunk)
	if _, err := m.Decode(frame); err != nil {
		return nil, err
	}
	if len(m.Data) < 8 {
		return nil, errors.New("opcuaraw: no sequence header")
	}
	_, v, err := ua.DecodeService(m.Data[8:]) // after SequenceNumber and RequestId
	return v, err
}

// Channel is a None secure channel opened by hand on a TCP connection.
type Channel struct {
	net.Conn
	ID, Token uint32
	seq, req  uint32
}

// Open dials addr, exchanges HEL/ACK and opens a None secure channel.
func Open(ctx context.Context, addr string) (*Channel, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	ch := &Channel{Conn: c, seq: 1, req: 1}
	if err := ch.open(); err != nil {
		c.Close()
		return nil, err
	}
	return ch, nil
}

func (ch *Channel) open() error {
	if _, err := ch.Write(Hello("opc.tcp://"+ch.RemoteAddr().String(), DefaultLimits)); err != nil {
		return err
	}
	ack, err := ReadFrame(ch, 1<<16)
	if err != nil {
		return fmt.Errorf("opcuaraw: ACK: %w", err)
	}
	if string(ack[:4]) != "ACKF" {
		return fmt.Errorf("opcuaraw: %q instead of ACK", ack[:4])
	}
	if _, err := ch.Write(OPN(0, ch.seq, ch.req, OpenRequest())); err != nil {
		return err
	}
	resp, err := ReadFrame(ch, 1<<16)
	if err != nil {
		return fmt.Errorf("opcuaraw: OPN response: %w", err)
	}
	v, err := Decode(resp)
	if err != nil {
		return fmt.Errorf("opcuaraw: OPN response: %w", err)
	}
	r, ok := v.(*ua.OpenSecureChannelResponse)
	if !ok || r.SecurityToken == nil {
		return fmt.Errorf("opcuaraw: OPN answered with %T", v)
	}
	ch.ID, ch.Token = r.SecurityToken.ChannelID, r.SecurityToken.TokenID
	return nil
}

// Next returns the next sequence number and request id.
func (ch *Channel) Next() (seq, req uint32) {
	ch.seq++
	ch.req++
	return ch.seq, ch.req
}

// Send writes body as one final MSG chunk.
func (ch *Channel) Send(body []byte) error {
	seq, req := ch.Next()
	_, err := ch.Write(Chunk("MSG", 'F', ch.ID, ch.Token, seq, req, body))
	return err
}

// Call sends req and decodes the answer.
func (ch *Channel) Call(req any) (any, error) {
	b, err := Body(req)
	if err != nil {
		return nil, err
	}
	if err := ch.Send(b); err != nil {
		return nil, err
	}
	resp, err := ReadFrame(ch, 16<<20)
	if err != nil {
		return nil, err
	}
	if string(resp[:4]) == "ERRF" {
		return nil, errors.New("opcuaraw: server sent ERR")
	}
	return Decode(resp)
}

// HostileGetEndpoints is a GetEndpoints request whose LocaleIds array claims
// 0x7fffffff elements: the message that killed opcplc on gopcua v0.8.0.
func HostileGetEndpoints() []byte {
	b := MustBody(&ua.GetEndpointsRequest{RequestHeader: &ua.RequestHeader{AuthenticationToken: ua.NewTwoByteNodeID(0),
		Timestamp: time.Now(), RequestHandle: 2, AdditionalHeader: ua.NewExtensionObject(nil)}})
	// LocaleIds and ProfileUris are the last two fields, both null (-1): claim the most.
	binary.LittleEndian.PutUint32(b[len(b)-8:], 0x7fffffff)
	return b
}

// HostileOpenResponse is an OpenSecureChannel response (None, channel and token 1) whose
// ResponseHeader.StringTable claims 0x7fffffff elements: the answer that killed
// opcpublisher on gopcua v0.8.0.
func HostileOpenResponse(reqID uint32) []byte {
	b := MustBody(&ua.OpenSecureChannelResponse{
		ResponseHeader: &ua.ResponseHeader{Timestamp: time.Now(), RequestHandle: 1,
			ServiceDiagnostics: &ua.DiagnosticInfo{}, AdditionalHeader: ua.NewExtensionObject(nil)},
		SecurityToken: &ua.ChannelSecurityToken{ChannelID: 1, TokenID: 1, CreatedAt: time.Now(), RevisedLifetime: 600000},
	})
	// TypeId(4) Timestamp(8) RequestHandle(4) ServiceResult(4) ServiceDiagnostics(1): the
	// StringTable length follows.
	binary.LittleEndian.PutUint32(b[21:], 0x7fffffff)
	return OPN(1, 1, reqID, b)
}

// NestedDiagnosticsOpenResponse is an OpenSecureChannel response (None) whose
// ResponseHeader.ServiceDiagnostics nests InnerDiagnosticInfo depth times.
func NestedDiagnosticsOpenResponse(reqID uint32, depth int) []byte {
	b := MustBody(&ua.OpenSecureChannelResponse{
		ResponseHeader: &ua.ResponseHeader{Timestamp: time.Now(), RequestHandle: 1,
			ServiceDiagnostics: &ua.DiagnosticInfo{}, AdditionalHeader: ua.NewExtensionObject(nil)},
		SecurityToken: &ua.ChannelSecurityToken{ChannelID: 1, TokenID: 1, CreatedAt: time.Now(), RevisedLifetime: 600000},
	})
	const diag = 20 // offset of ServiceDiagnostics (see HostileOpenResponse)
	nested := make([]byte, 0, len(b)+depth)
	nested = append(nested, b[:diag]...)
	for range depth {
		nested = append(nested, byte(ua.DiagnosticInfoInnerDiagnosticInfo))
	}
	nested = append(nested, b[diag:]...) // the innermost one is the original empty mask
	return OPN(1, 1, reqID, nested)
}

// NestedVariantWrite is a Write request for one value that is a Variant holding a
// Variant … depth times (one byte per level).
func NestedVariantWrite(depth int) []byte {
	w := ua.NewBuffer(nil)
	w.WriteStruct(ua.NewFourByteExpandedNodeID(0, ua.ServiceTypeID(&ua.WriteRequest{})))
	w.WriteStruct(&ua.RequestHeader{AuthenticationToken: ua.NewTwoByteNodeID(0), Timestamp: time.Now(),
		RequestHandle: 3, AdditionalHeader: ua.NewExtensionObject(nil)})
	w.WriteInt32(1)                            // NodesToWrite
	w.WriteStruct(ua.NewTwoByteNodeID(0))      // NodeId
	w.WriteUint32(uint32(ua.AttributeIDValue)) // AttributeId
	w.WriteString("")                          // IndexRange
	w.WriteByte(byte(ua.DataValueValue))       // DataValue with a value
	b := w.Bytes()
	for range depth {
		b = append(b, byte(ua.TypeIDVariant))
	}
	return append(b, 0) // the innermost Variant is null
}

// RequestID is the request id in the sequence header of an OPN request (None) or of a
// MSG/CLO chunk; 0 when the frame is too short.
func RequestID(frame []byte) uint32 {
	if len(frame) >= 24 && string(frame[:3]) != "OPN" {
		return binary.LittleEndian.Uint32(frame[20:24])
	}
	m := new(uasc.MessageChunk)
	if _, err := m.Decode(frame); err != nil || len(m.Data) < 8 {
		return 0
	}
	return binary.LittleEndian.Uint32(m.Data[4:8])
}

// Chunks splits body into MSG chunks of at most size body bytes (intermediate chunks,
// then a final one) of one request on the channel.
func (ch *Channel) Chunks(body []byte, size int) [][]byte {
	seq, req := ch.Next()
	var out [][]byte
	for len(body) > size {
		out = append(out, Chunk("MSG", 'C', ch.ID, ch.Token, seq, req, body[:size]))
		body = body[size:]
		seq++
		ch.seq++
	}
	return append(out, Chunk("MSG", 'F', ch.ID, ch.Token, seq, req, body))
}

// Unfinished is n intermediate chunks of size body bytes, each of a different request,
// none of which is ever finished.
func (ch *Channel) Unfinished(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		seq, req := ch.Next()
		out[i] = Chunk("MSG", 'C', ch.ID, ch.Token, seq, req, make([]byte, size))
	}
	return out
}

// WriteFrames writes frames in order.
func (ch *Channel) WriteFrames(frames [][]byte) error {
	for _, f := range frames {
		if _, err := ch.Write(f); err != nil {
			return err
		}
	}
	return nil
}
