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
	decodeAt(b []byte, depth int) (int, error)
}

func errTooDeep(depth int) error {
	return fmt.Errorf("%w: nesting depth %d > %d", StatusBadEncodingLimitsExceeded, depth, MaxNestingDepth)
}

// newBufferAt is NewBuffer for a value nested depth levels deep.
func newBufferAt(b []byte, depth int) *Buffer {
	return &Buffer{buf: b, depth: depth}
}

// catchPanic turns a panic while decoding untrusted bytes into an error, so that a
// decoder bug the limits above miss answers BadDecodingError instead of ending the
// process.
func catchPanic(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: decoder panic: %v\n%s", StatusBadDecodingError, r, debug.Stack())
	}
}

// decodeTyped decodes into v at depth: the depth-aware path for Buffer.ReadStruct.
func decodeTyped(b []byte, v interface{}, depth int) (int, error) {
	switch x := v.(type) {
	case depthDecoder:
		return x.decodeAt(b, depth)
	case BinaryDecoder:
		return x.Decode(b)
	default:
		val := reflect.ValueOf(v)
		return decode(b, val, val.Type().String(), depth)
	}
}
