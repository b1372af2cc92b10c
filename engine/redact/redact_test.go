package redact

import (
	"encoding/json"
	"reflect"
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
