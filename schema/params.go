package schema

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/stewardhq/steward/schema/dataschema"
)

// DataSchema is an action's input or output schema; see dataschema.Schema.
type DataSchema = dataschema.Schema

// Types is a JSON Schema "type"; see dataschema.Types.
type Types = dataschema.Types

// Catalog tells Validate which actions exist and what they take.
type Catalog interface {
	// ActionInput returns the input schema of an action, and whether the
	// action is known.
	ActionInput(action string) (*DataSchema, bool)
	// ActionOutput returns the output schema of an action (nil when it
	// declares none), and whether the action is known. An object with
	// properties says every field the action returns: steps.ID.outputs
	// and result are checked against it.
	ActionOutput(action string) (*DataSchema, bool)
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

// InstallHinter is a Catalog that can say where it looked for a plugin
// that is not installed and how to install it: the hint of a step whose
// plugin is not installed.
type InstallHinter interface {
	InstallHint(plugin string) string
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
			if h, ok := cat.(InstallHinter); ok && hint == "" {
				hint = h.InstallHint(plugin)
			}
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
		if missing := missingFields(in, nil); len(missing) > 0 {
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

// missingFields lists the required properties a mapping lacks.
func missingFields(s *DataSchema, val *Value) []string {
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
		e := val.Template.Single()
		if e == nil && len(s.Type) > 0 && !s.Type.Has("string") {
			v.errorAt(val.Pos, path, "a string with text around ${{ }} is always a string; write only ${{ expr }} to pass a typed value",
				"%s must be %s, got a string", name, s.Type.Phrase())
		}
		if kind := e.kind(); kind != "" && len(s.Type) > 0 && !s.Type.Has(kind) && !(kind == "number" && s.Type.Has("integer")) {
			v.errorAt(e.Pos, path, "", "%s must be %s, got %s: ${{ %s }}", name, s.Type.Phrase(), dataschema.KindPhrase(kind), e.Source)
		}
		return
	}
	kind := valueType(val)
	if len(s.Type) > 0 && !s.Type.Has(kind) {
		hint := ""
		if kind == "string" && (s.Type.Has("integer") || s.Type.Has("number") || s.Type.Has("boolean")) {
			hint = "remove the quotes"
		}
		v.errorAt(val.Pos, path, hint, "%s must be %s, got %s", name, s.Type.Phrase(), dataschema.KindPhrase(kind))
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
		if len(s.Enum) > 0 && !s.InEnum(val.Str) {
			v.errorAt(val.Pos, path, didYouMean(val.Str, enumStrings(s.Enum)), "%s must be one of %s, got %q", name, dataschema.ShowList(s.Enum), val.Str)
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
		if len(s.Enum) > 0 && !s.InEnum(val.Go()) {
			v.errorAt(val.Pos, path, "", "%s must be one of %s, got %s", name, dataschema.ShowList(s.Enum), num(f))
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
		if f.Value.Kind == KindNull && s.Properties[f.Key] != nil && !s.Requires(f.Key) {
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
	for _, m := range missingFields(s, val) {
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
