package cloudevent

// A validating JSON scanner with exactly the acceptance of encoding/json's json.Valid
// (RFC 8259 grammar, any bytes >= 0x20 inside strings including invalid UTF-8, at most
// maxDepth nested arrays and objects), written for speed: Decode reads the top-level
// object with it and skips every value in one pass, without building anything.

// maxDepth is encoding/json's nesting limit: json.Valid rejects more nested input.
const maxDepth = 10000

// Byte classes inside a string literal.
const (
	strPlain   = iota // printable ASCII other than '"' and '\\'
	strQuote          // '"'
	strEscape         // '\\'
	strControl        // < 0x20: not allowed unescaped
	strHigh           // >= 0x80: part of a UTF-8 sequence (or not: encoding/json accepts any)
)

var strClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c < 0x20:
			t[c] = strControl
		case c == '"':
			t[c] = strQuote
		case c == '\\':
			t[c] = strEscape
		case c >= 0x80:
			t[c] = strHigh
		}
	}
	return t
}()

// String literal properties scanString reports.
const (
	strHasEscape = 1 << iota // holds a backslash escape
	strHasHigh               // holds a byte >= 0x80
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanString reads the string literal that starts at b[i] == '"'. It returns the index
// just past the closing quote and strHasEscape / strHasHigh, or -1 if the literal is
// not valid JSON.
func scanString(b []byte, i int) (end int, flags uint8) {
	i++
	for {
		for i < len(b) && strClass[b[i]] == strPlain {
			i++
		}
		if i >= len(b) {
			return -1, 0
		}
		switch strClass[b[i]] {
		case strQuote:
			return i + 1, flags
		case strHigh:
			flags |= strHasHigh
			i++
		case strEscape:
			flags |= strHasEscape
			if i+1 >= len(b) {
				return -1, 0
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, 0
				}
				i += 6
			default:
				return -1, 0
			}
		default: // strControl
			return -1, 0
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber reads the number that starts at b[i] and returns the index just past it,
// or -1. It does not look at what follows: the caller requires a delimiter there.
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

// scanLiteral reads lit (true, false or null) at b[i], returning the index past it or -1.
func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanKey reads `"key" :` and the spaces after the colon, from b[i] on.
func scanKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i, _ = scanString(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

// skipValue validates the JSON value that starts at b[i] (not a space) and returns the
// index just past it, or -1 if it is not valid JSON. depth is the number of arrays and
// objects the value is inside of. It does not recurse: open containers are a byte stack.
func skipValue(b []byte, i, depth int) int {
	var small [64]byte
	open := small[:0] // '{' or '[' for each container open inside the value
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return -1
		}
		switch c := b[i]; c {
		case '"':
			i, _ = scanString(b, i)
		case '{', '[':
			if depth+len(open) >= maxDepth {
				return -1
			}
			if i = skipSpace(b, i+1); i >= len(b) {
				return -1
			}
			if b[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				break
			}
			open = append(open, c)
			if c == '{' {
				i = scanKey(b, i)
			}
			if i < 0 {
				return -1
			}
			continue
		case 't':
			i = scanLiteral(b, i, "true")
		case 'f':
			i = scanLiteral(b, i, "false")
		case 'n':
			i = scanLiteral(b, i, "null")
		default:
			if c != '-' && !isDigit(c) {
				return -1
			}
			i = scanNumber(b, i)
		}
		if i < 0 {
			return -1
		}
		// After a value: close containers until one has a next element, or we are done.
		for {
			if len(open) == 0 {
				return i
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1
			}
			top := open[len(open)-1]
			if b[i] == top+2 {
				i++
				open = open[:len(open)-1]
				continue
			}
			if b[i] != ',' {
				return -1
			}
			i = skipSpace(b, i+1)
			if top == '{' {
				if i = scanKey(b, i); i < 0 {
					return -1
				}
			}
			break
		}
	}
}

// validJSON is json.Valid.
func validJSON(b []byte) bool {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return false
	}
	if i = skipValue(b, i, 0); i < 0 {
		return false
	}
	return skipSpace(b, i) == len(b)
}

// trimSpace cuts JSON white space (not every Unicode space) off both ends of b.
func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}
