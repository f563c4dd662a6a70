// Copyright 2026 edgeframe authors. Added to the opcua authors' code; same MIT license.

package ua

import (
	"fmt"
	"reflect"
	"runtime/debug"
)

// Decoding limits (edgeframe fork). A peer controls every length and every nesting
// level on the wire; none of them may make the decoder allocate or recurse beyond
// what the message itself can hold, because a Go out-of-memory or stack overflow
// cannot be recovered.
const (
	// MaxNestingDepth bounds how deeply structures, arrays, Variants, DataValues,
	// ExtensionObjects and DiagnosticInfos may nest (the OPC Foundation .NET stack's
	// MaxEncodingNestingLevels default).
	MaxNestingDepth = 200

	// MaxArrayDimensions bounds the ArrayDimensions of a multi-dimensional Variant.
	MaxArrayDimensions = 32
)

// depthDecoder is implemented by the types whose decoding can recurse (Variant,
// DataValue, DiagnosticInfo, ExtensionObject): they take the nesting depth of the
// enclosing value so that the limit holds across them.
type depthDecoder interface {
	decodeAt(b []byte, ds decState) (int, error)
}

// MaxDecodeAmplification bounds what decoding one message may allocate: this many
// bytes per byte of the message, plus decodeBudgetBase. Values of a few bytes on the
// wire can cost hundreds in memory (a DataValue with an empty mask is one byte and two
// structs), so without it a 2 MiB message could allocate half a gigabyte.
const (
	MaxDecodeAmplification = 32
	decodeBudgetBase       = 1 << 20
	// readStructCost is what a nested value costs beyond its own struct.
	readStructCost = 128
)

// decState is the decoding state handed down the value tree: the nesting depth of the
// value (per path) and the allocation budget of the whole message (shared).
type decState struct {
	depth  int
	budget *int64
}

func newDecState(n int) decState {
	b := int64(n)*MaxDecodeAmplification + decodeBudgetBase
	return decState{budget: &b}
}

func (ds decState) deeper() decState { return decState{depth: ds.depth + 1, budget: ds.budget} }

// charge takes n bytes from the budget (none when the buffer was made without one).
func (ds decState) charge(n int64) error {
	if ds.budget == nil {
		return nil
	}
	*ds.budget -= n
	if *ds.budget < 0 {
		return fmt.Errorf("%w: decoding would allocate more than %d bytes per message byte", StatusBadEncodingLimitsExceeded, MaxDecodeAmplification)
	}
	return nil
}

// charge is decState.charge for the decoders that work on a Buffer: the first error
// becomes the buffer's error.
func (b *Buffer) charge(n int64) {
	if err := b.ds.charge(n); err != nil && b.err == nil {
		b.err = err
	}
}

func errTooDeep(depth int) error {
	return fmt.Errorf("%w: nesting depth %d > %d", StatusBadEncodingLimitsExceeded, depth, MaxNestingDepth)
}

// newBufferAt is NewBuffer for a value decoded with state ds.
func newBufferAt(b []byte, ds decState) *Buffer {
	return &Buffer{buf: b, ds: ds}
}

// catchPanic turns a panic while decoding untrusted bytes into an error, so that a
// decoder bug the limits above miss answers BadDecodingError instead of ending the
// process.
func catchPanic(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: decoder panic: %v\n%s", StatusBadDecodingError, r, debug.Stack())
	}
}

// decodeTyped decodes into v with state ds: the path of Buffer.ReadStruct.
func decodeTyped(b []byte, v interface{}, ds decState) (int, error) {
	switch x := v.(type) {
	case depthDecoder:
		return x.decodeAt(b, ds)
	case BinaryDecoder:
		return x.Decode(b)
	default:
		val := reflect.ValueOf(v)
		return decode(b, val, val.Type().String(), ds)
	}
}
