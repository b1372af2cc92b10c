package httpmsg

import (
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	if got := Status(429); got != "429 Too Many Requests" {
		t.Errorf("Status(429) = %q", got)
	}
	if got := Status(599); got != "599" {
		t.Errorf("Status(599) = %q", got)
	}
}

func TestSnippet(t *testing.T) {
	for body, want := range map[string]string{
		"":                               "an empty body",
		" \n\t ":                         "an empty body",
		"<html>\n  <b>Bad gateway</b>\n": "<html> <b>Bad gateway</b>",
		"red \x1b[31malert\x1b[0m":       "red [31malert [0m",
	} {
		if got := Snippet([]byte(body)); got != want {
			t.Errorf("Snippet(%q) = %q, want %q", body, got, want)
		}
	}
	long := strings.Repeat("é", SnippetRunes+5)
	if got := Snippet([]byte(long)); got != strings.Repeat("é", SnippetRunes)+"…" {
		t.Errorf("a long body: %q", got)
	}
}
