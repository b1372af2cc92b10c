package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	var s Set
	if got := s.String("hunter2"); got != "hunter2" {
		t.Fatalf("empty set changed %q", got)
	}
	s.Add("hunter2")
	s.Add(`pa"ss w&rd`)
	s.Add("")
	cases := map[string]string{
		"hunter2":                              "***",
		"token hunter2 in a sentence":          "token *** in a sentence",
		`{"password":"hunter2"}`:               `{"password":"***"}`,
		`{"p":"pa\"ss w&rd"}`:                  `{"p":"***"}`,
		"https://x.test/?p=pa%22ss+w%26rd&q=1": "https://x.test/?p=***&q=1",
		"https://x.test/pa%22ss%20w&rd":        "https://x.test/***",
		"nothing here":                         "nothing here",
	}
	for in, want := range cases {
		if got := s.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLongestWins(t *testing.T) {
	var s Set
	s.Add("abc")
	s.Add("abcdef")
	if got := s.String("xabcdefx abc"); got != "x***x ***" {
		t.Fatalf("got %q", got)
	}
}

func TestValueCopies(t *testing.T) {
	var s Set
	s.Add("s3cr3t")
	in := map[string]any{
		"a":      "s3cr3t",
		"s3cr3t": 1,
		"list":   []any{"x s3cr3t", 2.5, true, nil, map[string]any{"b": "s3cr3t"}},
		"hdr":    map[string]string{"Authorization": "Bearer s3cr3t"},
		"argv":   []string{"--token", "s3cr3t"},
		"raw":    json.RawMessage(`{"k":"s3cr3t"}`),
	}
	orig, _ := json.Marshal(in)
	got := s.Value(in)
	want := map[string]any{
		"a":    "***",
		"***":  1,
		"list": []any{"x ***", 2.5, true, nil, map[string]any{"b": "***"}},
		"hdr":  map[string]string{"Authorization": "Bearer ***"},
		"argv": []string{"--token", "***"},
		"raw":  json.RawMessage(`{"k":"***"}`),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	after, _ := json.Marshal(in)
	if string(orig) != string(after) {
		t.Fatalf("Value changed its input: %s", after)
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	if !s.Empty() || s.String("x") != "x" || s.Value(1) != 1 {
		t.Fatal("a nil set redacts nothing")
	}
}

// TestEncodedForms: a secret of MinDerived characters or more is redacted
// in its encodings too: base64 (both alphabets, padded or not), inside the
// base64 of user:secret (a Basic Authorization header) whatever the user,
// hex, percent-encoding of every reserved byte, and JSON escaped as ASCII
// or twice.
func TestEncodedForms(t *testing.T) {
	const secret = "s3cr3t/Value+é?"
	var s Set
	s.Add(secret)
	b := []byte(secret)
	for _, enc := range []string{
		base64.StdEncoding.EncodeToString(b), base64.URLEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		"s3cr3t%2FValue%2B%C3%A9%3F", // every reserved byte escaped
		`s3cr3t/Value+\u00e9?`,       // JSON as Python writes it
	} {
		if got := s.String("x " + enc + " y"); got != "x *** y" {
			t.Errorf("String(%q) = %q", enc, got)
		}
	}
	j, _ := json.Marshal(map[string]string{"inner": `{"p":"` + `a"` + secret + `"}`})
	var t2 Set
	t2.Add(`a"` + secret)
	if got := t2.String(string(j)); strings.Contains(got, "s3cr3t") {
		t.Errorf("JSON escaped twice: %s", got)
	}
	// A Basic header: base64 of USER:SECRET. Whatever the length of the
	// user (so each alignment of the secret in the base64), at most the
	// characters of the user and one on each side of the secret stay.
	for _, user := range []string{"", "a", "ab", "abc", "support", "ops-team"} {
		plain := user + ":" + secret
		enc := base64.StdEncoding.EncodeToString([]byte(plain))
		got := s.String("Authorization: Basic " + enc)
		rest, ok := strings.CutPrefix(got, "Authorization: Basic ")
		if !ok || !strings.Contains(rest, Mask) {
			t.Errorf("user %q: %q is not redacted: %q", user, enc, got)
			continue
		}
		left := len(strings.TrimRight(strings.ReplaceAll(rest, Mask, ""), "="))
		if userChars := (8*len(user+":") + 5) / 6; left > userChars+2 {
			t.Errorf("user %q: %q keeps %d characters of %q, want at most %d", user, got, left, enc, userChars+2)
		}
	}
	// Nothing that is not a form of the secret changes.
	for _, text := range []string{"ordinary text", "c2VjcmV0", "deadbeef", "s3cr3t"} {
		if got := s.String(text); got != text {
			t.Errorf("String(%q) = %q", text, got)
		}
	}
}

// TestShortSecretsNotEncoded: below MinDerived characters a secret is
// redacted as it is (and URL- and JSON-escaped), not in its encodings,
// which would match ordinary text by chance.
func TestShortSecretsNotEncoded(t *testing.T) {
	var s Set
	s.Add("ab12\n")
	for in, want := range map[string]string{
		"x ab12\n y": "x *** y",
		"x ab12 y":   "x ab12 y", // its trimmed form is too short to redact
		base64.StdEncoding.EncodeToString([]byte("ab12\n")): base64.StdEncoding.EncodeToString([]byte("ab12\n")),
		hex.EncodeToString([]byte("ab12\n")):                hex.EncodeToString([]byte("ab12\n")),
	} {
		if got := s.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWhitespaceForms: a secret given as a YAML | block (a trailing line
// break, inner line breaks and indentation) is redacted trimmed, with its
// whitespace made single spaces, line by line, and in those forms'
// encodings.
func TestWhitespaceForms(t *testing.T) {
	const secret = "first-Xline  of it\nsecond-Xline\n"
	var s Set
	s.Add(secret)
	for _, in := range []string{
		"error: first-Xline  of it\nsecond-Xline", // trimmed, as a program echoes it
		"body: first-Xline of it second-Xline.",   // on one line, as a snippet shows it
		"last line: second-Xline",                 // one line of it
		base64.StdEncoding.EncodeToString([]byte("first-Xline  of it\nsecond-Xline")),
	} {
		if got := s.String(in); strings.Contains(got, "Xline") {
			t.Errorf("String(%q) = %q", in, got)
		}
	}
}

// TestCutMarks: next to a cut mark ("…"), the start of a secret before it
// and the end of one after it are masked, from MinPiece bytes; a shorter
// piece is left.
func TestCutMarks(t *testing.T) {
	var s Set
	s.Add("abcdefghijkl")
	for in, want := range map[string]string{
		"quote: xx abcdefg…":  "quote: xx ***…",
		"…ghijkl and more":    "…*** and more",
		"a abc… and …jkl b":   "a ***… and …*** b",
		"ab… and …kl":         "ab… and …kl", // shorter than MinPiece
		"abcdefghijkl…":       "***…",
		"YWJjZGVmZ2…":         "***…", // the start of its base64
		"no cut abcdefg here": "no cut abcdefg here",
		"many … … … … abcde…": "many … … … … ***…",
		"abcdefghijk… …hijkl": "***… …***",
	} {
		if got := s.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	if got := s.Value(map[string]any{"m": "xx abcdef…"}); !reflect.DeepEqual(got, map[string]any{"m": "xx ***…"}) {
		t.Errorf("Value: %v", got)
	}
}

// TestCutEnd: a text cut at its end (output kept up to a size) loses the
// start of a secret left there, and nothing else.
func TestCutEnd(t *testing.T) {
	var s Set
	s.Add("abcdefghijkl")
	for in, want := range map[string]string{
		"output abcdefgh":     "output ***",
		"output ab":           "output ab",
		"abcdefghijkl abcdef": "abcdefghijkl ***", // a whole secret is left to String
		"output":              "output",
	} {
		if got := s.CutEnd(in); got != want {
			t.Errorf("CutEnd(%q) = %q, want %q", in, got, want)
		}
	}
	var empty *Set
	if empty.CutEnd("abc") != "abc" {
		t.Error("a nil set changed a text")
	}
}
