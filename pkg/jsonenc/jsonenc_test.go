package jsonenc_test

import (
	"encoding/json"
	"testing"

	"github.com/edgeframe/edgeframe/pkg/jsonenc"
)

// FuzzAppendString: AppendString writes exactly what json.Marshal writes for a string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "<>&", "\u2028\u2029", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "\xff", "a\xc3", "é😀", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonenc.AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, json.Marshal %s", s, got[1:], want)
		}
	})
}
