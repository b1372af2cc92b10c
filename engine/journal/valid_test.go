package journal

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidJSON(t *testing.T) {
	for _, s := range []string{
		``, ` `, `{}`, ` {} `, `{`, `}`, `{"a":1}`, `{"a":1,}`, `{"a" : [1, 2.5, -3e+7, 0.1E-2, true, false, null, "x"]}`,
		`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul}`, `[1 2]`, `[,]`, `[]`, `[1,]`,
		`"\u00e9\n\"\\\/\b\f\r\t"`, `"\u00g0"`, `"\x"`, "\"a\x01\"", "\"\xff\xfe\"", `"abc`, `{"a":"b"}x`, `{1:2}`,
		`-0`, `-01`, `0e0`, `1E+2`, "\t\n\r[\t\n\r]\t\n\r", `{"a":{"b":{"c":[[[]]]}}}`, `{"a"}`, `{"a":}`, `"\u12"`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
		strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	} {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2.5e-3,"x\u00e9\n",true,false,null,{}]}`, `[-0.0E+1]`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}
