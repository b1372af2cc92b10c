package dataschema

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestSchemaCheck(t *testing.T) {
	one := 1.0
	s := &Schema{Type: Types{"object"}, Required: []string{"url"}, Properties: map[string]*Schema{
		"url":     {Type: Types{"string"}, Pattern: "^https?://"},
		"n":       {Type: Types{"integer"}, Minimum: &one},
		"rate":    {Type: Types{"number"}},
		"mode":    {Type: Types{"string"}, Enum: []any{"a", "b"}},
		"wait":    {Type: Types{"string"}, Format: "duration"},
		"tags":    {Type: Types{"array"}, Items: &Schema{Type: Types{"string"}}},
		"headers": {Type: Types{"object"}, AdditionalProperties: &Schema{Type: Types{"string"}}},
		"status":  {Type: Types{"integer", "array"}},
	}}
	for _, tc := range []struct {
		v    map[string]any
		want string
	}{
		{map[string]any{"url": "https://x", "n": 2, "rate": 2.5, "mode": "a", "wait": "1s", "tags": []any{"x"},
			"headers": map[string]any{"A": "b"}, "status": []any{200}}, ""},
		{map[string]any{"url": "https://x", "rate": 3}, ""}, // an integer is a number
		{map[string]any{"url": "https://x", "n": 2.0}, ""},  // 2.0 is an integer
		{map[string]any{}, `with: missing required field "url"`},
		{map[string]any{"url": "ftp://x"}, `with.url must match ^https?://, got "ftp://x"`},
		{map[string]any{"url": "https://x", "n": 0}, `with.n must be at least 1, got 0`},
		{map[string]any{"url": "https://x", "n": 1.5}, `with.n must be an integer, got a number`},
		{map[string]any{"url": "https://x", "mode": "c"}, `with.mode must be one of ["a", "b"], got "c"`},
		{map[string]any{"url": "https://x", "wait": "soon"}, `with.wait: invalid duration "soon"`},
		{map[string]any{"url": "https://x", "tags": []any{"x", 1}}, `with.tags[1] must be a string, got an integer`},
		{map[string]any{"url": "https://x", "headers": map[string]any{"A": true}}, `with.headers.A must be a string, got a boolean`},
		{map[string]any{"url": "https://x", "extra": 1}, `with: unknown field "extra"`},
		{map[string]any{"url": "https://x", "status": "200"}, `with.status must be an integer or a list, got a string`},
		// null for an optional field means not given (an optional runbook
		// input passed through); for a required or unknown one it is wrong.
		{map[string]any{"url": "https://x", "n": nil, "mode": nil}, ""},
		{map[string]any{"url": nil}, `with.url must be a string, got null`},
		{map[string]any{"url": "https://x", "extra": nil}, `with: unknown field "extra"`},
	} {
		err := s.Check(tc.v)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Check(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestTypesJSON(t *testing.T) {
	var s Schema
	if err := json.Unmarshal([]byte(`{"type": ["integer", "array"], "properties": {"a": {"type": "string"}}}`), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Type) != 2 || s.Properties["a"].Type[0] != "string" {
		t.Fatalf("%+v", s)
	}
	b, _ := json.Marshal(s.Properties["a"])
	if string(b) != `{"type":"string"}` {
		t.Errorf("one type marshals as %s", b)
	}
	if err := json.Unmarshal([]byte(`{"type": 3}`), &s); err == nil {
		t.Error("a numeric type was accepted")
	}
}

// TestCheckOutputs: outputs are checked from "outputs"; a null fits any
// field, required or not, at any depth.
func TestCheckOutputs(t *testing.T) {
	s := &Schema{Type: Types{"object"}, Required: []string{"n", "list"}, Properties: map[string]*Schema{
		"n":    {Type: Types{"integer"}},
		"list": {Type: Types{"array"}, Items: &Schema{Type: Types{"string"}}},
	}}
	for _, tc := range []struct {
		v    map[string]any
		want string
	}{
		{map[string]any{"n": 1.0, "list": []any{"a"}}, ""},
		{map[string]any{"n": nil, "list": nil}, ""},
		{map[string]any{"n": 1.0, "list": []any{nil, "b"}}, ""},
		{map[string]any{"n": "1", "list": nil}, "outputs.n must be an integer, got a string"},
		{map[string]any{"n": 1.0, "list": []any{2.0}}, "outputs.list[0] must be a string, got an integer"},
		{map[string]any{"n": 1.0, "list": nil, "x": true}, `outputs: unknown field "x"`},
		{map[string]any{"list": nil}, `outputs: missing required field "n"`},
	} {
		err := s.CheckOutputs(tc.v)
		if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && got != tc.want {
			t.Errorf("%v: %v, want %q", tc.v, err, tc.want)
		}
	}
	if err := s.Check(map[string]any{"n": nil, "list": nil}); err == nil {
		t.Error("Check (a with) took null for a required field")
	}
}
