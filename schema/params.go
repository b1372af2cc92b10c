package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// DataSchema is the subset of JSON Schema (draft 2020-12) that describes an
// action's input and output: what `steward validate` checks a step's `with`
// against, what `plugins describe` prints. An object with properties is
// closed (additionalProperties: false) unless AdditionalProperties says
// what extra keys hold.
type DataSchema struct {
	Type                 Types                  `json:"type,omitempty"`
	Description          string                 `json:"description,omitempty"`
	Properties           map[string]*DataSchema `json:"properties,omitempty"`
	Required             []string               `json:"required,omitempty"`
	AdditionalProperties *DataSchema            `json:"additionalProperties,omitempty"`
	Items                *DataSchema            `json:"items,omitempty"`
	Enum                 []any                  `json:"enum,omitempty"`
	Minimum              *float64               `json:"minimum,omitempty"`
	Maximum              *float64               `json:"maximum,omitempty"`
	Pattern              string                 `json:"pattern,omitempty"`
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
		return fmt.Errorf("type must be a string or a list of strings")
	}
	*t = many
	return nil
}

func (t Types) has(name string) bool {
	for _, s := range t {
		if s == name || (name == "integer" && s == "number") {
			return true
		}
	}
	return false
}

// Catalog tells Validate which actions exist and what they take.
type Catalog interface {
	// ActionInput returns the input schema of an action, and whether the
	// action is known.
	ActionInput(action string) (*DataSchema, bool)
	// PluginProblem says whether a plugin (core, http and exec for the
	// built-ins) is installed and, when it is, why it cannot be used ("" if
	// it can). An installed, usable plugin is covered: an action of it the
	// catalog does not know is an error. A step whose plugin is not
	// installed is a warning, since its with cannot be checked here; one
	// whose plugin is installed but unusable (not pinned, changed, failed
	// to start) is an error naming the problem.
	PluginProblem(plugin string) (installed bool, problem string)
	// Actions lists the names of known actions, for suggestions.
	Actions() []string
}

// checkActions checks that every step's action exists and that its `with`
// (and its undo's) fits the action's input schema.
func (v *validator) checkActions(cat Catalog) {
	for _, list := range [][]*Step{v.rb.Steps, v.rb.OnFailure} {
		for i, st := range list {
			path := stepPath(st, i)
			v.checkAction(cat, st.Action, st.ActionPos, st.Pos, st.WithPos, st.With, path)
			if st.Undo != nil {
				v.checkAction(cat, st.Undo.Action, st.Undo.ActionPos, st.Undo.Pos, st.Undo.WithPos, st.Undo.With, sub(path, "undo"))
			}
		}
	}
}

func (v *validator) checkAction(cat Catalog, action string, actionPos, stepPos, withPos Pos, with *Value, path string) {
	if action == "" {
		return
	}
	in, ok := cat.ActionInput(action)
	if !ok {
		plugin, _, _ := strings.Cut(action, ".")
		switch installed, problem := cat.PluginProblem(plugin); {
		case !installed:
			hint := didYouMean(action, cat.Actions())
			if hint == "" {
				hint = fmt.Sprintf("install steward-plugin-%s in a plugin folder (steward plugins list)", plugin)
			}
			v.warnAt(actionPos, sub(path, "action"), hint, "plugin %q is not installed: its with is not checked", plugin)
		case problem != "":
			// The reason is long (paths, checksums): in full once.
			if first, seen := v.unusable[plugin]; seen {
				v.errorAt(actionPos, sub(path, "action"), "", "plugin %q cannot be used (see line %d)", plugin, first.Line)
				break
			}
			if v.unusable == nil {
				v.unusable = map[string]Pos{}
			}
			v.unusable[plugin] = actionPos
			v.errorAt(actionPos, sub(path, "action"), "", "plugin %q cannot be used: %s", plugin, problem)
		default:
			v.errorAt(actionPos, sub(path, "action"), didYouMean(action, cat.Actions()), "unknown action %q", action)
		}
		return
	}
	if in == nil {
		return
	}
	if with != nil && with.Kind == KindNull {
		with = nil // with: left empty
	}
	if with == nil {
		if missing := in.missing(nil); len(missing) > 0 {
			v.errorAt(stepPos, path, fmt.Sprintf("add with: {%s: ...}", missing[0]),
				"%s needs %s in with", action, quoteList(missing))
		}
		return
	}
	v.withPos = withPos
	v.checkValue(in, with, sub(path, "with"), action)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// missing lists the required properties a mapping lacks.
// requires reports whether name is a required property.
func (s *DataSchema) requires(name string) bool { return slices.Contains(s.Required, name) }

func (s *DataSchema) missing(val *Value) []string {
	var out []string
	for _, r := range s.Required {
		if val.Get(r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// checkValue checks a literal against a schema. A value computed by a
// template is known only at run time, where the action checks it.
func (v *validator) checkValue(s *DataSchema, val *Value, path, action string) {
	name := lastField(path)
	if val.Template != nil {
		if val.Template.Single() == nil && len(s.Type) > 0 && !s.Type.has("string") {
			v.errorAt(val.Pos, path, "a string with text around ${{ }} is always a string; write only ${{ expr }} to pass a typed value",
				"%s must be %s, got a string", name, typeWords(s.Type))
		}
		return
	}
	kind := valueType(val)
	if len(s.Type) > 0 && !s.Type.has(kind) {
		hint := ""
		if kind == "string" && (s.Type.has("integer") || s.Type.has("number") || s.Type.has("boolean")) {
			hint = "remove the quotes"
		}
		v.errorAt(val.Pos, path, hint, "%s must be %s, got %s", name, typeWords(s.Type), kindWord(kind))
		return
	}
	switch val.Kind {
	case KindMap:
		v.checkMap(s, val, path, action)
	case KindList:
		if s.Items != nil {
			for i, it := range val.Items {
				v.checkValue(s.Items, it, idx(path, i), action)
			}
		}
	case KindString:
		if len(s.Enum) > 0 && !inEnum(s.Enum, val.Str) {
			v.errorAt(val.Pos, path, didYouMean(val.Str, enumStrings(s.Enum)), "%s must be one of %s, got %q", name, showList(s.Enum), val.Str)
		}
		if s.Format == "duration" {
			if _, err := time.ParseDuration(val.Str); err != nil {
				v.errorAt(val.Pos, path, "write a duration such as 30s, 5m or 1h30m", "%s: invalid duration %q", name, val.Str)
			}
		}
		if s.Pattern != "" {
			if re, err := regexp.Compile(s.Pattern); err == nil && !re.MatchString(val.Str) {
				v.errorAt(val.Pos, path, "", "%s must match %s, got %q", name, s.Pattern, val.Str)
			}
		}
	case KindInt, KindFloat:
		f := val.Float
		if val.Kind == KindInt {
			f = float64(val.Int)
		}
		if s.Minimum != nil && f < *s.Minimum {
			v.errorAt(val.Pos, path, "", "%s must be at least %s, got %s", name, num(*s.Minimum), num(f))
		}
		if s.Maximum != nil && f > *s.Maximum {
			v.errorAt(val.Pos, path, "", "%s must be at most %s, got %s", name, num(*s.Maximum), num(f))
		}
		if len(s.Enum) > 0 && !inEnum(s.Enum, val.Go()) {
			v.errorAt(val.Pos, path, "", "%s must be one of %s, got %s", name, showList(s.Enum), num(f))
		}
	}
}

func (v *validator) checkMap(s *DataSchema, val *Value, path, action string) {
	closed := len(s.Properties) > 0 && s.AdditionalProperties == nil
	var names []string
	for k := range s.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	suggested := map[string]bool{}
	for _, f := range val.Fields {
		fp := sub(path, f.Key)
		if f.Value.Kind == KindNull && s.Properties[f.Key] != nil && !s.requires(f.Key) {
			continue // null for an optional field means not given
		}
		if p := s.Properties[f.Key]; p != nil {
			v.checkValue(p, f.Value, fp, action)
			continue
		}
		if s.AdditionalProperties != nil {
			v.checkValue(s.AdditionalProperties, f.Value, fp, action)
			continue
		}
		if closed {
			hint := didYouMean(f.Key, names)
			if best := Suggest(f.Key, names); hint != "" {
				suggested[best] = true
			}
			if hint == "" {
				hint = "known: " + strings.Join(names, ", ")
			}
			v.errorAt(f.KeyPos, fp, hint, "unknown field %q for %s", f.Key, action)
		}
	}
	var missing []string
	for _, m := range s.missing(val) {
		if !suggested[m] { // a misspelt key already pointed at it
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		at := val.Pos
		if strings.Count(path, ".") == 1 && v.withPos.Line > 0 {
			at = v.withPos // the with itself: point at its key
		}
		v.errorAt(at, path, "", "missing required %s for %s", plural(len(missing), "field")+" "+quoteList(missing), action)
	}
}

// lastField returns the last key of a FIELD.PATH: "timeout" of
// "steps[0].with.timeout", "command[0]" of "steps[1].with.command[0]".
func lastField(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func valueType(val *Value) string {
	switch val.Kind {
	case KindNull:
		return "null"
	case KindBool:
		return "boolean"
	case KindInt:
		return "integer"
	case KindFloat:
		if val.Float == math.Trunc(val.Float) && !math.IsInf(val.Float, 0) {
			return "integer"
		}
		return "number"
	case KindString:
		return "string"
	case KindList:
		return "array"
	}
	return "object"
}

func kindWord(kind string) string {
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

func typeWords(t Types) string {
	words := make([]string, len(t))
	for i, k := range t {
		words[i] = kindWord(k)
	}
	return strings.Join(words, " or ")
}

func inEnum(enum []any, v any) bool {
	for _, e := range enum {
		if equalValues(e, v) {
			return true
		}
	}
	return false
}

func enumStrings(enum []any) []string {
	var out []string
	for _, e := range enum {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func num(f float64) string { return fmt.Sprint(f) }

// Check checks a value computed at run time (a resolved with) against the
// schema. It reports the first problem, with its path.
func (s *DataSchema) Check(v any) error {
	return s.check(v, "with")
}

func (s *DataSchema) check(v any, path string) error {
	if s == nil {
		return nil
	}
	kind := goType(v)
	if len(s.Type) > 0 && !s.Type.has(kind) {
		return fmt.Errorf("%s must be %s, got %s", path, typeWords(s.Type), kindWord(kind))
	}
	if len(s.Enum) > 0 && !inEnum(s.Enum, v) {
		return fmt.Errorf("%s must be one of %s, got %s", path, showList(s.Enum), show(v))
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
			if x[k] == nil && s.Properties[k] != nil && !s.requires(k) {
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
			if err := p.check(x[k], sub(path, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, it := range x {
			if err := s.Items.check(it, idx(path, i)); err != nil {
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
		if f, ok := toFloat(v); ok {
			if s.Minimum != nil && f < *s.Minimum {
				return fmt.Errorf("%s must be at least %s, got %s", path, num(*s.Minimum), num(f))
			}
			if s.Maximum != nil && f > *s.Maximum {
				return fmt.Errorf("%s must be at most %s, got %s", path, num(*s.Maximum), num(f))
			}
		}
	}
	return nil
}

// goType names the JSON type of a Go value of the kinds expressions yield.
func goType(v any) string {
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
		return goType(float64(x))
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
