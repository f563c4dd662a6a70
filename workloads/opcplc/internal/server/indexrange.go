package server

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/gopcua/opcua/ua"
)

// parseRange parses a NumericRange (OPC 10000-4 §7.27): "" (whole value), or per
// dimension "i" or "i:j" with i < j, dimensions separated by commas. Only the syntax is
// checked here.
func parseRange(s string) ([][2]int, ua.StatusCode) {
	if s == "" {
		return nil, ua.StatusOK
	}
	var dims [][2]int
	for _, d := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(d, ":")
		a, err := strconv.ParseUint(lo, 10, 31)
		if err != nil || lo == "" || (len(lo) > 1 && lo[0] == '+') {
			return nil, ua.StatusBadIndexRangeInvalid
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 31); err != nil || hi == "" || b <= a {
				return nil, ua.StatusBadIndexRangeInvalid
			}
		}
		dims = append(dims, [2]int{int(a), int(b)})
	}
	return dims, ua.StatusOK
}

// applyRange cuts dv's value to the index range r: elements of a one-dimensional array,
// characters of a String, bytes of a ByteString. A range that starts past the end or a
// value it cannot apply to gives BadIndexRangeNoData; an end past the end is cut short.
func applyRange(dv *ua.DataValue, r string) *ua.DataValue {
	dims, code := parseRange(r)
	switch {
	case code != ua.StatusOK:
		return badValue(code)
	case dims == nil || dv.Value == nil || dv.EncodingMask&ua.DataValueValue == 0:
		return dv
	case len(dims) != 1:
		return badValue(ua.StatusBadIndexRangeNoData)
	}
	lo, hi := dims[0][0], dims[0][1]
	var cut any
	switch v := dv.Value.Value().(type) {
	case string:
		if lo >= len(v) {
			return badValue(ua.StatusBadIndexRangeNoData)
		}
		cut = v[lo:min(hi+1, len(v))]
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice || lo >= rv.Len() {
			return badValue(ua.StatusBadIndexRangeNoData)
		}
		cut = rv.Slice(lo, min(hi+1, rv.Len())).Interface()
		if dv.Value.Type() == ua.TypeIDByte {
			cut = ua.ByteArray(cut.([]byte))
		}
	}
	variant, err := ua.NewVariant(cut)
	if err != nil {
		return badValue(ua.StatusBadInternalError)
	}
	out := *dv
	out.Value = variant
	return &out
}
