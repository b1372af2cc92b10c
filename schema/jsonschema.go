package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

//go:embed runbook.schema.json
var jsonSchema []byte

// JSONSchema returns the runbook format's JSON Schema (2020-12), for editors
// with yaml-language-server and for tools that check runbooks without
// Steward. The Go loader is stricter: it also checks expressions, references
// and the dependency graph. JSONSchemaFor adds what actions take.
func JSONSchema() []byte { return append([]byte(nil), jsonSchema...) }

// ActionSchema is an action as the runbook JSON Schema describes it: its
// name, what it does, and its input schema, which types a step's `with`.
type ActionSchema struct {
	Name        string
	Description string
	Input       *DataSchema
}

// JSONSchemaFor returns the runbook JSON Schema with each action of acts
// known by name (a plugin action is offered with its description beside
// the built-ins), and the `with` of a step, an undo or an on_failure step
// that names it checked against its input schema: its fields, their
// types, the required ones, no unknown one. Any value may also be a
// template (${{ }}), whose value is known only when the step runs; null
// stands for an optional field not given, as in `steward validate`.
func JSONSchemaFor(acts []ActionSchema) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(jsonSchema, &doc); err != nil {
		return nil, err
	}
	defs := doc["$defs"].(map[string]any)
	defs["template"] = map[string]any{
		"description": "A template: ${{ expr }}, whose value is known when the step runs.",
		"type":        "string",
		"pattern":     `\$\{\{`,
	}
	acts = slices.Clone(acts)
	sort.Slice(acts, func(i, j int) bool { return acts[i].Name < acts[j].Name })
	action := defs["action"].(map[string]any)
	alts := action["anyOf"].([]any)
	known := map[string]bool{}
	for _, alt := range alts {
		if c, ok := alt.(map[string]any)["const"].(string); ok {
			known[c] = true
		}
	}
	var typed []any
	for _, a := range acts {
		if a.Input == nil {
			continue
		}
		if !known[a.Name] {
			known[a.Name] = true
			desc := "Plugin action."
			if a.Description != "" {
				desc = "Plugin action: " + a.Description
			}
			// Before the generic PLUGIN.ACTION, the last alternative.
			alts = append(alts[:len(alts)-1:len(alts)-1], map[string]any{"const": a.Name, "description": desc}, alts[len(alts)-1])
		}
		key := "with." + a.Name
		w := withSchema(a.Input)
		desc := "The input of " + a.Name + "; any value may be a template (${{ }})."
		if a.Description != "" {
			desc = a.Name + ": " + a.Description + " Any value may be a template (${{ }})."
		}
		w["description"] = desc
		defs[key] = w
		typed = append(typed, map[string]any{
			"if":   map[string]any{"required": []any{"action"}, "properties": map[string]any{"action": map[string]any{"const": a.Name}}},
			"then": map[string]any{"properties": map[string]any{"with": map[string]any{"$ref": "#/$defs/" + key}}},
		})
	}
	action["anyOf"] = alts
	if len(typed) > 0 {
		for _, name := range []string{"step", "onFailureStep", "undo"} {
			d := defs[name].(map[string]any)
			d["allOf"] = append(anySlice(d["allOf"]), typed...)
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("runbook JSON Schema: %w", err)
	}
	return append(b, '\n'), nil
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// withSchema is the JSON Schema of a `with` of input schema s: an object
// (or null when nothing is required), closed when s names its fields.
func withSchema(s *DataSchema) map[string]any {
	m := typedSchema(s)
	if len(s.Required) == 0 {
		if t, ok := m["type"].(string); ok && t == "object" {
			m["type"] = []any{"object", "null"}
		}
	}
	return m
}

// typedSchema is s as JSON Schema (2020-12), where a value may also be a
// template: format duration is a Go duration, an object with properties
// is closed, an optional field may be null.
func typedSchema(s *DataSchema) map[string]any {
	m := map[string]any{}
	if s == nil {
		return m
	}
	if s.Description != "" {
		m["description"] = s.Description
	}
	switch len(s.Type) {
	case 0:
	case 1:
		m["type"] = s.Type[0]
	default:
		ts := make([]any, len(s.Type))
		for i, t := range s.Type {
			ts[i] = t
		}
		m["type"] = ts
	}
	if len(s.Enum) > 0 {
		m["enum"] = s.Enum
	}
	if s.Minimum != nil {
		m["minimum"] = *s.Minimum
	}
	if s.Maximum != nil {
		m["maximum"] = *s.Maximum
	}
	if s.Pattern != "" {
		m["pattern"] = s.Pattern
	}
	if s.Format == "duration" {
		m["$ref"] = "#/$defs/duration"
	}
	if s.Default != nil {
		m["default"] = s.Default
	}
	if s.Items != nil {
		m["items"] = value(s.Items, true)
	}
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for name, p := range s.Properties {
			props[name] = value(p, slices.Contains(s.Required, name))
		}
		m["properties"] = props
		m["additionalProperties"] = false
	}
	if s.AdditionalProperties != nil {
		m["additionalProperties"] = value(s.AdditionalProperties, true)
	}
	if len(s.Required) > 0 {
		req := make([]any, len(s.Required))
		for i, r := range s.Required {
			req[i] = r
		}
		m["required"] = req
	}
	return m
}

// value is a field of schema s: its typed schema, or a template, or null
// when it is optional.
func value(s *DataSchema, required bool) map[string]any {
	alts := []any{typedSchema(s), map[string]any{"$ref": "#/$defs/template"}}
	if !required {
		alts = append(alts, map[string]any{"type": "null"})
	}
	m := map[string]any{"anyOf": alts}
	if s.Description != "" {
		m["description"] = s.Description
	}
	return m
}
