// Package dataschema describes the data an action takes and returns: the
// subset of JSON Schema (draft 2020-12) that Steward uses for action inputs,
// outputs and plugin settings, and the check of a value against it.
//
// It imports only the standard library, so that the plugin SDK can use it
// without linking the runbook compiler (expr, yaml, the cron parser) into
// every plugin binary. The runbook validator (package schema) phrases its
// messages with the same words (Phrase, KindPhrase, Show), so a value is
// described alike when `steward validate` checks a literal and when an
// action checks what a template computed at run time.
package dataschema

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Schema is the subset of JSON Schema (draft 2020-12) that describes an
// action's input and output: what `steward validate` checks a step's `with`
// against, what `plugins describe` prints. An object with properties is
// closed (additionalProperties: false) unless AdditionalProperties says
// what extra keys hold.
type Schema struct {
	Type                 Types              `json:"type,omitempty"`
	Description          string             `json:"description,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	// Format "duration" is a Go duration string such as 30s or 1m30s.
	Format  string `json:"format,omitempty"`
	Default any    `json:"default,omitempty"`
	// Sensitive marks an output field whose value is a secret.
	Sensitive bool `json:"x-sensitive,omitempty"`
}

// Types is a JSON Schema "type": one name or a list. Empty means any.
type Types []string

// MarshalJSON writes one type as a string, several as a list.
func (t Types) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

// UnmarshalJSON reads a string or a list of strings.
func (t *Types) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*t = Types{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("dataschema: type must be a string or a list of strings")
	}
	*t = many
	return nil
}

// Has reports whether a value of the JSON kind (see Kind) fits the types:
// an integer is also a number.
func (t Types) Has(kind string) bool {
	for _, s := range t {
		if s == kind || (kind == "integer" && s == "number") {
			return true
		}
	}
	return false
}

// Phrase names the types for a message: "a string or an integer".
func (t Types) Phrase() string {
	words := make([]string, len(t))
	for i, k := range t {
		words[i] = KindPhrase(k)
	}
	return strings.Join(words, " or ")
}

// KindPhrase names a JSON kind for a message: "a mapping", "a list",
// "an integer", "a string", "null".
func KindPhrase(kind string) string {
	switch kind {
	case "null":
		return "null"
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "integer":
		return "an integer"
	}
	return "a " + kind
}

// Requires reports whether name is a required property.
func (s *Schema) Requires(name string) bool { return slices.Contains(s.Required, name) }

// InEnum reports whether v is one of the schema's enum values (numbers
// compare by value). A schema without an enum has none to be in.
func (s *Schema) InEnum(v any) bool {
	for _, e := range s.Enum {
		if Equal(e, v) {
			return true
		}
	}
	return false
}

// Check checks a value computed at run time (a resolved with) against the
// schema. It reports the first problem, with its path from "with".
func (s *Schema) Check(v any) error {
	return s.check(v, "with", false)
}

// CheckOutputs checks what an action returned against its output schema,
// as a plugin's outputs are checked on their way back. It reports the
// first problem, with its path from "outputs". A null fits any field: a
// value the action did not set (Go writes a nil list or map as null).
func (s *Schema) CheckOutputs(v any) error {
	return s.check(v, "outputs", true)
}

func (s *Schema) check(v any, path string, nullOK bool) error {
	if s == nil || v == nil && nullOK {
		return nil
	}
	kind := Kind(v)
	if len(s.Type) > 0 && !s.Type.Has(kind) {
		return fmt.Errorf("%s must be %s, got %s", path, s.Type.Phrase(), KindPhrase(kind))
	}
	if len(s.Enum) > 0 && !s.InEnum(v) {
		return fmt.Errorf("%s must be one of %s, got %s", path, ShowList(s.Enum), Show(v))
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				return fmt.Errorf("%s: missing required field %q", path, r)
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if x[k] == nil && s.Properties[k] != nil && !s.Requires(k) {
				continue // null for an optional field means not given
			}
			p := s.Properties[k]
			if p == nil {
				p = s.AdditionalProperties
			}
			if p == nil {
				if len(s.Properties) > 0 {
					return fmt.Errorf("%s: unknown field %q", path, k)
				}
				continue
			}
			if err := p.check(x[k], path+"."+k, nullOK); err != nil {
				return err
			}
		}
	case []any:
		for i, it := range x {
			if err := s.Items.check(it, fmt.Sprintf("%s[%d]", path, i), nullOK); err != nil {
				return err
			}
		}
	case string:
		if s.Format == "duration" {
			if _, err := time.ParseDuration(x); err != nil {
				return fmt.Errorf("%s: invalid duration %q", path, x)
			}
		}
		if s.Pattern != "" {
			if re, err := regexp.Compile(s.Pattern); err == nil && !re.MatchString(x) {
				return fmt.Errorf("%s must match %s, got %q", path, s.Pattern, x)
			}
		}
	default:
		if f, ok := Number(v); ok {
			if s.Minimum != nil && f < *s.Minimum {
				return fmt.Errorf("%s must be at least %v, got %v", path, *s.Minimum, f)
			}
			if s.Maximum != nil && f > *s.Maximum {
				return fmt.Errorf("%s must be at most %v, got %v", path, *s.Maximum, f)
			}
		}
	}
	return nil
}

// Kind names the JSON kind of a Go value of the kinds that JSON decoding
// and expressions yield: null, boolean, string, integer (a whole float64
// too), number, array or object.
func Kind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "integer"
	case float32:
		return Kind(float64(x))
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if k := reflect.ValueOf(v).Kind(); k == reflect.Slice || k == reflect.Array {
		return "array"
	}
	return "object"
}

// Number returns v as a float64 when it is an int, int64 or float64.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Equal reports whether two values are equal, numbers by value (1 equals
// 1.0), everything else deeply.
func Equal(a, b any) bool {
	fa, oka := Number(a)
	fb, okb := Number(b)
	if oka && okb {
		return fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// Show renders a value for a message: strings quoted (and clipped to 40
// characters), lists and mappings by kind, others as Go prints them.
func Show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(Clip(x))
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprint(v)
}

// ShowList renders values for a message: ["a", "b", 3].
func ShowList(vs []any) string {
	s := "["
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += Show(v)
	}
	return s + "]"
}

// Clip shortens a string to at most 40 characters for a message.
func Clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:37]) + "..."
	}
	return s
}
