package printable

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, é and ✓":          "plain text, é and ✓",
		"two\nlines\tand a tab":        "two\nlines\tand a tab",
		"\x1b[2J\x1b[Hcleared":         `\x1b[2J\x1b[Hcleared`,         // CSI
		"\x1b]0;title\x07 set":         `\x1b]0;title\x07 set`,         // OSC ended by BEL
		"\x1b]8;;http://x\x1b\\link":   `\x1b]8;;http://x\x1b\link`,    // OSC 8 hyperlink, ST
		"over\rwritten":                `over\rwritten`,                // carriage return
		"del\x7f bs\x08 nul\x00":       `del\x7f bs\x08 nul\x00`,       // DEL, BS, NUL
		"c1 \u009b2J and \u0085":       `c1 \u009b2J and \u0085`,       // C1 as UTF-8
		"raw \x9b2J":                   `raw \x9b2J`,                   // C1 as a raw byte
		"bidi \u202eevil\u202c \u2066": `bidi \u202eevil\u202c \u2066`, // reorders text
		"":                             "",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLine(t *testing.T) {
	if got := Line("a\nb\tc\x1b[1A"); got != `a\nb\tc\x1b[1A` {
		t.Errorf("Line = %q", got)
	}
	if got := Line("fine"); got != "fine" {
		t.Errorf("Line = %q", got)
	}
}

func TestJSON(t *testing.T) {
	v := map[string]string{"m": "esc \x1b[2J c1 \u009b del \x7f bidi \u202e ok é"}
	b, _ := json.MarshalIndent(v, "", "  ")
	got := JSON(b)
	want := "{\n  \"m\": \"esc \\u001b[2J c1 \\u009b del \\u007f bidi \\u202e ok é\"\n}"
	if string(got) != want {
		t.Errorf("JSON = %s\nwant   %s", got, want)
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["m"] != v["m"] {
		t.Errorf("not the same JSON value: %v %q", err, back["m"])
	}
}

// TestWriter: what is written is escaped, a character split between two
// writes included.
func TestWriter(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	for _, p := range []string{"a \x1b[2J é", "\xc2", "\x9b b \xe2\x9c", "\x93 \xe2"} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), `a \x1b[2J é\u009b b ✓ \xe2`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
