package cloudevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Decoding reads the event in one pass over its bytes (scanObject): the top-level object
// is walked key by key, every value is validated and skipped where it lies, and the
// attributes are remembered as positions. Then fill turns positions into the Event: plain
// strings (no escapes, valid UTF-8) are copied into one shared backing string, data is
// copied once, and only what is unusual — a string with escapes, an attribute of the
// wrong type, a number or structured extension — goes through encoding/json, so the
// result and the error messages are what encoding/json gave before, bar speed.
//
// Duplicate keys: the last one wins, as with encoding/json unmarshalling into a map (and
// as the implementation before this one did). Keys are compared after unescaping, so
// "\u0069d" is "id".

// attr is a known (non-extension) attribute.
type attr uint8

const (
	attrSpecVersion attr = iota
	attrID
	attrSource
	attrType
	attrSubject
	attrDataContentType
	attrTraceParent
	attrTraceState
	attrTime
	attrSequence
	attrData
	attrDataBase64
	numAttrs
	attrNone = numAttrs // an extension
)

// attrNames are the attributes' JSON names, as error messages name them.
var attrNames = [numAttrs]string{"specversion", "id", "source", "type", "subject",
	"datacontenttype", "traceparent", "tracestate", "time", "sequence", "data", "data_base64"}

func attrOf(name []byte) attr {
	switch string(name) {
	case "specversion":
		return attrSpecVersion
	case "id":
		return attrID
	case "source":
		return attrSource
	case "type":
		return attrType
	case "subject":
		return attrSubject
	case "datacontenttype":
		return attrDataContentType
	case "traceparent":
		return attrTraceParent
	case "tracestate":
		return attrTraceState
	case "time":
		return attrTime
	case "sequence":
		return attrSequence
	case "data":
		return attrData
	case "data_base64":
		return attrDataBase64
	}
	return attrNone
}

// span is where a value lies in the input: b[start:end], end == 0 if absent.
type span struct {
	start, end int
	// slow: a string literal that needs encoding/json to unquote (escapes, invalid UTF-8).
	slow bool
}

func (s span) present() bool { return s.end > 0 }

// plain reports whether s is a string literal whose bytes between the quotes are its value.
func (s span) plain(b []byte) bool { return s.present() && b[s.start] == '"' && !s.slow }

// text is the inside of a plain string literal.
func (s span) text(b []byte) []byte { return b[s.start+1 : s.end-1] }

// extSpan is one extension attribute.
type extSpan struct {
	key, val span
	name     string // the unquoted key, once known
	named    bool
}

// What scanObject found.
type kind uint8

const (
	kindInvalid kind = iota // not valid JSON (json.Valid is false)
	kindObject
	kindNull  // the literal null
	kindOther // valid JSON, but neither an object nor null
)

// stringSpan reads the string literal at b[i] for its span and the index past it.
func stringSpan(b []byte, i int) (span, int) {
	end, flags := scanString(b, i)
	if end < 0 {
		return span{}, -1
	}
	slow := flags&strHasEscape != 0 || flags&strHasHigh != 0 && !utf8.Valid(b[i+1:end-1])
	return span{start: i, end: end, slow: slow}, end
}

// scanObject validates b the way json.Valid does and, if it is an object, records where
// each known attribute's value lies in attrs and appends the extensions to ext.
func scanObject(b []byte, attrs *[numAttrs]span, ext []extSpan) ([]extSpan, kind) {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return ext, kindInvalid
	}
	if b[i] != '{' {
		end := skipValue(b, i, 0)
		switch {
		case end < 0 || skipSpace(b, end) != len(b):
			return ext, kindInvalid
		case b[i] == 'n':
			return ext, kindNull
		}
		return ext, kindOther
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return ext, kindInvalid
			}
			var key, val span
			if key, i = stringSpan(b, i); i < 0 {
				return ext, kindInvalid
			}
			if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
				return ext, kindInvalid
			}
			if i = skipSpace(b, i+1); i >= len(b) {
				return ext, kindInvalid
			}
			if b[i] == '"' {
				val, i = stringSpan(b, i)
			} else {
				val.start = i
				i = skipValue(b, i, 1)
				val.end = i
			}
			if i < 0 {
				return ext, kindInvalid
			}
			var name string
			a := attrNone
			if !key.slow {
				a = attrOf(key.text(b))
			} else {
				name = unquote(b[key.start:key.end])
				a = attrOf([]byte(name))
			}
			if a == attrNone {
				ext = append(ext, extSpan{key: key, val: val, name: name, named: key.slow})
			} else {
				attrs[a] = val
			}
			if i = skipSpace(b, i); i >= len(b) {
				return ext, kindInvalid
			}
			if b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if b[i] != '}' {
				return ext, kindInvalid
			}
			i++
			break
		}
	}
	if skipSpace(b, i) != len(b) {
		return ext, kindInvalid
	}
	return ext, kindObject
}

// Decode parses and validates one structured-mode event. Of a key given twice the last
// one counts, as encoding/json has it.
func Decode(b []byte) (Event, error) {
	var e Event
	var attrs [numAttrs]span
	var small [4]extSpan
	ext, k := scanObject(b, &attrs, small[:0])
	switch k {
	case kindInvalid:
		return e, errors.New("cloudevent: not a JSON object: invalid JSON")
	case kindOther:
		return e, notAnObject(trimSpace(b))
	case kindNull:
		return e, e.validate(false)
	}
	if err := e.fill(b, &attrs, ext); err != nil {
		return e, err
	}
	return e, e.validate(true)
}

// UnmarshalJSON reads the structured-mode JSON form. It is lenient about types that
// intermediaries rewrite (a sequence sent as a string) but keeps every attribute.
func (e *Event) UnmarshalJSON(b []byte) error {
	var attrs [numAttrs]span
	var small [4]extSpan
	ext, k := scanObject(b, &attrs, small[:0])
	switch k {
	case kindInvalid, kindOther:
		return notAnObject(b)
	case kindNull:
		*e = Event{}
		return nil
	}
	*e = Event{}
	return e.fill(b, &attrs, ext)
}

// notAnObject is the error for b, valid JSON but not an object, or invalid: the one
// encoding/json gives for it (rare, so it may as well ask encoding/json).
func notAnObject(b []byte) error {
	var m map[string]json.RawMessage
	err := json.Unmarshal(b, &m)
	if err == nil { // cannot happen: scanObject accepts what encoding/json accepts
		err = errors.New("invalid JSON")
	}
	return fmt.Errorf("cloudevent: not a JSON object: %w", err)
}

// unquote is the value of a valid string literal, as json.Unmarshal gives it.
func unquote(lit []byte) string {
	var s string
	_ = json.Unmarshal(lit, &s) // cannot fail: scanString validated lit
	return s
}

// decoder turns the positions scanObject found into values.
type decoder struct {
	b []byte
	// strs backs every plain string of the event, sized up front: one allocation. (So an
	// attribute kept on its own keeps the others' few hundred bytes alive with it.)
	strs strings.Builder
	errs []error
}

// keep returns p as a string backed by d.strs.
func (d *decoder) keep(p []byte) string {
	lo := d.strs.Len()
	d.strs.Write(p)
	return d.strs.String()[lo:]
}

// constant is the shared constant for the usual value of a (no copy needed), or "".
func constant(a attr, text []byte) string {
	switch {
	case a == attrSpecVersion && string(text) == SpecVersion:
		return SpecVersion
	case a == attrDataContentType && string(text) == DataContentType:
		return DataContentType
	}
	return ""
}

// str is string attribute a, as json.Unmarshal into a string gives it; null is "".
func (d *decoder) str(attrs *[numAttrs]span, a attr) string {
	s := attrs[a]
	switch {
	case !s.present() || d.b[s.start] == 'n':
		return ""
	case s.plain(d.b):
		if c := constant(a, s.text(d.b)); c != "" {
			return c
		}
		return d.keep(s.text(d.b))
	}
	var v string
	if err := json.Unmarshal(d.b[s.start:s.end], &v); err != nil {
		d.errs = append(d.errs, fmt.Errorf("cloudevent: field %q: want a string: %w", attrNames[a], err))
	}
	return v
}

// sequence is the sequence attribute: an integer, or a string holding one.
func (d *decoder) sequence(s span) int64 {
	raw := d.b[s.start:s.end]
	var n int64
	ok := false
	switch c := raw[0]; {
	case c == '"' && !s.slow:
		n, ok = parseInt(s.text(d.b))
	case c == '"':
		n, ok = parseInt(unquote(raw))
	case c == '-' || isDigit(c):
		n, ok = parseInt(raw)
	}
	if !ok {
		d.errs = append(d.errs, fmt.Errorf("cloudevent: field \"sequence\": want an integer, got %s", raw))
		return 0
	}
	return n
}

// parseInt is strconv.ParseInt(s, 10, 64) without its error value (or a conversion).
func parseInt[T []byte | string](s T) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	const limit = uint64(1) << 63
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) || n > limit/10 {
			return 0, false
		}
		if n = n*10 + uint64(c-'0'); n > limit {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true // n == limit wraps to math.MinInt64, which is right
	}
	if n == limit {
		return 0, false
	}
	return int64(n), true
}

// extValue is an extension's value as json.Unmarshal into an any gives it.
func (d *decoder) extValue(s span) (any, error) {
	raw := d.b[s.start:s.end]
	switch c := raw[0]; {
	case s.plain(d.b):
		return d.keep(s.text(d.b)), nil
	case c == 't':
		return true, nil
	case c == 'f':
		return false, nil
	case c == 'n':
		return nil, nil
	case c == '-' || isDigit(c):
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return f, nil
		}
		// out of float64 range: encoding/json says so in its own words, below
	}
	var x any
	err := json.Unmarshal(raw, &x)
	return x, err
}

// fill sets e's attributes from the positions scanObject found in b, reporting every
// attribute of the wrong type at once, in the order the implementation before did.
func (e *Event) fill(b []byte, attrs *[numAttrs]span, ext []extSpan) error {
	d := decoder{b: b}
	n := 0
	for a := attrSpecVersion; a <= attrTime; a++ {
		if s := attrs[a]; s.plain(b) && constant(a, s.text(b)) == "" {
			n += len(s.text(b))
		}
	}
	for i := range ext {
		if !ext[i].named {
			n += len(ext[i].key.text(b))
		}
		if ext[i].val.plain(b) {
			n += len(ext[i].val.text(b))
		}
	}
	d.strs.Grow(n)

	e.SpecVersion = d.str(attrs, attrSpecVersion)
	e.ID = d.str(attrs, attrID)
	e.Source = d.str(attrs, attrSource)
	e.Type = d.str(attrs, attrType)
	e.Subject = d.str(attrs, attrSubject)
	e.DataContentType = d.str(attrs, attrDataContentType)
	e.TraceParent = d.str(attrs, attrTraceParent)
	e.TraceState = d.str(attrs, attrTraceState)
	if ts := d.str(attrs, attrTime); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			d.errs = append(d.errs, fmt.Errorf("cloudevent: field \"time\": %w", err))
		}
		e.Time = t
	}
	if s := attrs[attrSequence]; s.present() {
		e.Sequence = d.sequence(s)
	}
	if s := attrs[attrData]; s.present() && b[s.start] != 'n' {
		e.Data = append(json.RawMessage(nil), b[s.start:s.end]...)
	} else if attrs[attrDataBase64].present() {
		d.errs = append(d.errs, errors.New("cloudevent: field \"data_base64\": binary data is not supported, data must be a JSON object"))
	}
	if len(ext) > 0 {
		d.extensions(e, ext)
	}
	return errors.Join(d.errs...)
}

// extensions sets e.Extensions; of an extension given twice the last one counts.
func (d *decoder) extensions(e *Event, ext []extSpan) {
	for i := range ext {
		if x := &ext[i]; !x.named {
			x.name, x.named = d.keep(x.key.text(d.b)), true
		}
	}
	var last map[string]int // name → index of its last occurrence, for many extensions
	if len(ext) > 16 {
		last = make(map[string]int, len(ext))
		for i, x := range ext {
			last[x.name] = i
		}
	}
	for i, x := range ext {
		if last != nil && last[x.name] != i || last == nil && given(ext[i+1:], x.name) {
			continue
		}
		v, err := d.extValue(x.val)
		if err != nil {
			d.errs = append(d.errs, fmt.Errorf("cloudevent: extension %q: %w", x.name, err))
			continue
		}
		if e.Extensions == nil {
			e.Extensions = make(map[string]any, len(ext))
		}
		e.Extensions[x.name] = v
	}
}

// given reports whether an extension of ext is called name.
func given(ext []extSpan, name string) bool {
	for _, x := range ext {
		if x.name == name {
			return true
		}
	}
	return false
}
