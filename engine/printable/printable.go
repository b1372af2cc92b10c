// Package printable makes text from actions, plugins and the journal safe
// to print to a terminal: control characters, and so the escape sequences
// they start (ESC, CSI, OSC, BEL, C1 controls), are written as visible
// escapes such as \x1b instead of reaching the terminal, where they could
// move the cursor, rewrite lines already printed, set the window title or
// hide text. Every human-readable output of Steward goes through it; JSON
// output escapes what JSON does not (see JSON).
package printable

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// String returns s with every control character escaped, but line breaks
// and tabs: for text printed as a block (an output of several lines, an
// error with its diagnostics).
func String(s string) string { return escape(s, false) }

// Line returns s with every control character escaped, line breaks and
// tabs included (as \n and \t): for text that must stay on its line (a
// progress line, a table cell).
func Line(s string) string { return escape(s, true) }

// unsafe reports whether r must be escaped: a C0 control, DEL, a C1
// control, or a character that reorders the text around it (bidirectional
// overrides and isolates, which hide what a line really says).
func unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// clean reports whether s has nothing to escape, without allocating.
func clean(s string, line bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n' || c == '\t':
			if line {
				return false
			}
		case c < 0x20 || c == 0x7f:
			return false
		case c >= utf8.RuneSelf:
			// Decode the rest: rare enough in messages to take the slow
			// path for all of it.
			for _, r := range s[i:] {
				if r == utf8.RuneError || unsafe(r) || line && (r == '\n' || r == '\t') {
					return false
				}
			}
			return true
		}
	}
	return true
}

func escape(s string, line bool) string {
	if clean(s, line) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			// A byte that is not UTF-8: 0x9b alone is CSI to a terminal
			// that reads 8-bit controls.
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\n' && !line, r == '\t' && !line:
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case unsafe(r):
			b.WriteString(`\u`)
			b.WriteString(hex4(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

func hex4(r rune) string {
	h := strconv.FormatInt(int64(r), 16)
	return strings.Repeat("0", 4-len(h)) + h
}

// JSON returns JSON text with the characters a terminal would act on but
// encoding/json leaves as they are (DEL, C1 controls, bidirectional
// overrides) written as \uXXXX escapes: the same JSON value, safe to
// print. Such characters only occur inside JSON strings, where the escape
// means the same character; encoding/json already escapes C0 controls and
// writes no invalid UTF-8.
func JSON(b []byte) []byte {
	if clean(string(b), false) {
		return b
	}
	var out []byte
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && r >= 0x20 && unsafe(r) {
			out = append(out, `\u`+hex4(r)...)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// Writer is an io.Writer that escapes what is written to it as String
// does. A character split between two writes is escaped whole: call Flush
// after the last write, to write what an unfinished one held back.
type Writer struct {
	w       io.Writer
	pending []byte // the start of a character split by the last write
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write implements io.Writer.
func (x *Writer) Write(p []byte) (int, error) {
	buf := append(x.pending, p...)
	end := len(buf)
	// Hold back the start of a character that the next write may finish.
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				end = i
			}
			break
		}
	}
	x.pending = append([]byte(nil), buf[end:]...)
	if _, err := io.WriteString(x.w, String(string(buf[:end]))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what a write held back, escaped.
func (x *Writer) Flush() error {
	if len(x.pending) == 0 {
		return nil
	}
	_, err := io.WriteString(x.w, String(string(x.pending)))
	x.pending = nil
	return err
}
