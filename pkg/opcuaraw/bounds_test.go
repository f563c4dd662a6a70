package opcuaraw_test

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uacp"

	"github.com/edgeframe/edgeframe/pkg/opcuaraw"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The decoder bounds of third_party/gopcua (issue 13), asserted on the allocation
// itself: every hostile length is refused with an error, having allocated no more than
// a small multiple of the message.
func TestDecoderBoundsHostileLengths(t *testing.T) {
	// An unbounded decoder dies here instead of taking the machine's memory.
	testenv.CapAddressSpace(t, 0, 1<<30)
	variant := func(mask byte, tail ...[]byte) []byte {
		b := []byte{mask}
		for _, x := range tail {
			b = append(b, x...)
		}
		return b
	}
	le := func(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }
	nestedDiag := make([]byte, 1_000_000)
	for i := range nestedDiag {
		nestedDiag[i] = ua.DiagnosticInfoInnerDiagnosticInfo
	}
	nestedVariant := make([]byte, 1_000_000)
	for i := range nestedVariant {
		nestedVariant[i] = byte(ua.TypeIDVariant)
	}
	// A million one-byte DataValues (each two structs in memory) and 65535 one-byte
	// Variants: in bounds, but 225x and 72x their size in memory unless budgeted.
	hdr, err := ua.Encode(&ua.ResponseHeader{ServiceDiagnostics: &ua.DiagnosticInfo{}, AdditionalHeader: ua.NewExtensionObject(nil)})
	if err != nil {
		t.Fatal(err)
	}
	emptyValues := append(append(hdr, le(1<<20)...), make([]byte, 1<<20)...)
	emptyValues = append(emptyValues, le(-1)...)
	nullVariants := append(variant(byte(ua.TypeIDVariant)|ua.VariantArrayValues, le(65535)), make([]byte, 65535)...)
	for _, tc := range []struct {
		name string
		into func() any
		b    []byte
		want string
	}{
		{"array of strings claims 0x7fffffff", func() any { return new(ua.GetEndpointsRequest) }, opcuaraw.HostileGetEndpoints()[4:], "exceeds remaining"},
		{"variant array length -5", func() any { return new(ua.Variant) }, variant(byte(ua.TypeIDInt32)|ua.VariantArrayValues, le(-5)), "variant array length -5"},
		{"variant array longer than the message", func() any { return new(ua.Variant) }, variant(byte(ua.TypeIDBoolean)|ua.VariantArrayValues, le(60000), []byte{1, 0}), "variant array length 60000"},
		{"variant with 0x7fffffff dimensions", func() any { return new(ua.Variant) },
			variant(byte(ua.TypeIDBoolean)|ua.VariantArrayValues|ua.VariantArrayDimensions, le(1), []byte{1}, le(0x7fffffff)), "array dimensions"},
		{"variant dimensions whose int32 product wraps to the length", func() any { return new(ua.Variant) },
			variant(byte(ua.TypeIDBoolean)|ua.VariantArrayValues|ua.VariantArrayDimensions, le(0), le(3), le(65536), le(65536), le(1)), "unbalanced"},
		{"a million empty DataValues", func() any { return new(ua.ReadResponse) }, emptyValues, "bytes per message byte"},
		{"65535 null Variants", func() any { return new(ua.Variant) }, nullVariants, "bytes per message byte"},
		{"DiagnosticInfo nested 1e6 deep", func() any { return new(ua.DiagnosticInfo) }, nestedDiag, "nesting depth"},
		{"Variant nested 1e6 deep", func() any { return new(ua.Variant) }, nestedVariant, "nesting depth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = ua.Decode(tc.b, tc.into()) })
			if err == nil {
				t.Fatalf("decoded without error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
			if limit := uint64(64*len(tc.b)) + 1<<20; n > limit {
				t.Errorf("allocated %d bytes for a %d-byte message (limit %d)", n, len(tc.b), limit)
			}
		})
	}
}

// HEL buffers below OPC UA's 8192-byte minimum are refused (a 1-byte send buffer made
// the chunk body size negative); limits of 0 are capped, and the server's ACK never
// exceeds its own limits.
func TestHelloNegotiation(t *testing.T) {
	if _, err := uacp.NegotiateServer(uacp.DefaultServerACK, &uacp.Hello{ReceiveBufSize: 1, SendBufSize: 65535}); err == nil {
		t.Error("a 1-byte receive buffer was accepted")
	}
	ack, err := uacp.NegotiateServer(uacp.DefaultServerACK, &uacp.Hello{ReceiveBufSize: 0xffffffff, SendBufSize: 0xffffffff})
	if err != nil {
		t.Fatal(err)
	}
	if ack.ReceiveBufSize != uacp.DefaultReceiveBufSize || ack.SendBufSize != uacp.DefaultSendBufSize ||
		ack.MaxMessageSize != uacp.DefaultMaxMessageSize || ack.MaxChunkCount != uacp.DefaultMaxChunkCount {
		t.Errorf("ACK %+v, want the server's defaults", ack)
	}
}
