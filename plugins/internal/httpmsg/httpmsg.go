// Package httpmsg phrases what an HTTP API answered, for the error
// messages of the bundled plugins: a status in words, and the start of a
// body that is not the JSON expected, on one printable line.
package httpmsg

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// SnippetRunes is how much of a body Snippet keeps.
const SnippetRunes = 200

// Status is a status code with its text, as "429 Too Many Requests".
func Status(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return strconv.Itoa(code)
}

// Snippet is the start of body on one line, every character that does not
// print (a control sequence) made a space, at most SnippetRunes runes
// (then marked with "…"); "an empty body" for nothing.
func Snippet(body []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(body))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > SnippetRunes {
		s = string(r[:SnippetRunes]) + "…"
	}
	if s == "" {
		return "an empty body"
	}
	return s
}
