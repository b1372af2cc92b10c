package schema

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/schema/dataschema"
	"gopkg.in/yaml.v3"
)

// loader walks a yaml.Node tree, building the model and collecting
// diagnostics. It never stops at the first problem.
type loader struct {
	src   *source
	diags Diagnostics
	// suggested holds FIELD.PATHs offered as a did-you-mean for an unknown
	// key, so a missing required key is not reported a second time.
	suggested map[string]bool
}

func (l *loader) errorf(n *yaml.Node, path, hint, format string, args ...any) {
	l.errorAt(nodePos(n), path, hint, format, args...)
}

func (l *loader) errorAt(p Pos, path, hint, format string, args ...any) {
	l.diags = append(l.diags, l.src.diag(p, path, hint, format, args...))
}

// finish caps the number of diagnostics reported for one file.
func (l *loader) finish() Diagnostics {
	if len(l.diags) > maxDiagnostics {
		extra := len(l.diags) - maxDiagnostics
		l.diags = append(l.diags[:maxDiagnostics], l.src.diag(Pos{l.diags[maxDiagnostics].Line, 1}, "", "",
			"%d more problems not shown", extra))
	}
	return l.diags
}

func nodePos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{1, 1}
	}
	return Pos{n.Line, n.Column}
}

func sub(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func idx(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// checkShape bounds nesting depth and alias expansion before anything else
// walks the tree, so later walkers may follow aliases freely.
func (l *loader) checkShape(root *yaml.Node) bool {
	const path = ""
	budget := MaxAliasNodes
	// via is the outermost alias being expanded: where a bomb is reported.
	var walk func(n *yaml.Node, depth int, via *yaml.Node) bool
	walk = func(n *yaml.Node, depth int, via *yaml.Node) bool {
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				l.errorf(n, path, "", "alias *%s refers to no anchor", n.Value)
				return false
			}
			if via == nil {
				via = n
			}
			return walk(n.Alias, depth, via)
		}
		if via != nil {
			budget--
			if budget < 0 {
				l.errorf(via, path, "write the values out, or use fewer nested aliases",
					"aliases expand to more than %d nodes; refusing a possible alias bomb", MaxAliasNodes)
				return false
			}
		}
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			if depth >= MaxDepth {
				l.errorf(n, path, "flatten the structure", "nesting deeper than %d levels", MaxDepth)
				return false
			}
			for _, c := range n.Content {
				if !walk(c, depth+1, via) {
					return false
				}
			}
		}
		if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
			l.errorf(n, path, "remove the tag", "custom YAML tag %s is not supported", n.Tag)
		}
		return true
	}
	ok := walk(root, 0, nil)
	return ok && len(l.diags) == 0
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// kindName names what a node holds, for "expected X, got Y".
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return "string " + dataschema.Show(n.Value)
	case "!!int":
		return "integer " + n.Value
	case "!!float":
		return "number " + n.Value
	case "!!bool":
		return "boolean " + n.Value
	case "!!null":
		return "null"
	case "!!timestamp":
		return "timestamp " + n.Value
	}
	return n.ShortTag()
}

type pair struct {
	key  string
	k, v *yaml.Node
}

// keyHints maps keys from other tools to Steward's.
var keyHints = map[string]string{
	"depends_on": "needs", "depends-on": "needs", "dependencies": "needs", "uses": "action",
	"run": "action", "with_items": "for_each", "loop": "for_each", "foreach": "for_each",
	"when": "if", "ignore_errors": "continue_on_error", "continue-on-error": "continue_on_error",
	"on_error": "on_failure", "on-failure": "on_failure", "params": "inputs", "parameters": "inputs",
	"args": "with", "input": "with", "output": "outputs", "env": "vars",
}

// mapping checks that n is a mapping with string keys, no duplicates and,
// when known is not nil, only known keys. A null node is an empty mapping.
// Merge keys (<<: *anchor) are applied.
func (l *loader) mapping(n *yaml.Node, path string, known []string) ([]pair, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "", "expected a mapping, got %s", kindName(n))
		return nil, false
	}
	var pairs []pair
	seen := map[string]*yaml.Node{}
	var merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, path, "", "a key must be a plain string, got %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, l.mergePairs(v, path)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.errorf(k, sub(path, k.Value), "remove one of them", "duplicate key %q (first set at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		if known != nil && !contains(known, k.Value) {
			hint := didYouMean(k.Value, known)
			if sug := Suggest(k.Value, known); sug != "" {
				if l.suggested == nil {
					l.suggested = map[string]bool{}
				}
				l.suggested[sub(path, sug)] = true
			}
			if to, ok := keyHints[k.Value]; ok && contains(known, to) {
				hint = fmt.Sprintf("Steward calls this %q", to)
			}
			if hint == "" {
				hint = "valid keys: " + strings.Join(known, ", ")
			}
			l.errorf(k, sub(path, k.Value), hint, "unknown key %q", k.Value)
			continue
		}
		pairs = append(pairs, pair{k.Value, k, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.key]; dup {
			continue // explicit keys override merged ones
		}
		seen[p.key] = p.k
		if known != nil && !contains(known, p.key) {
			l.errorf(p.k, sub(path, p.key), didYouMean(p.key, known), "unknown key %q (merged from an anchor)", p.key)
			continue
		}
		pairs = append(pairs, p)
	}
	return pairs, true
}

// maxMergeDepth bounds merge keys inside merged mappings (an anchor whose
// mapping merges another), which could otherwise loop through aliases.
const maxMergeDepth = 16

// mergePairs lists the keys a merge key brings: those of a mapping, or of
// each mapping of a list, the first mapping winning; a merged mapping's
// own merge keys are applied too, its explicit keys overriding them.
func (l *loader) mergePairs(v *yaml.Node, path string) []pair { return l.mergeDepth(v, path, 0) }

func (l *loader) mergeDepth(v *yaml.Node, path string, depth int) []pair {
	v = deref(v)
	if depth >= maxMergeDepth {
		l.errorf(v, path, "", "merge keys (<<) nest more than %d deep", maxMergeDepth)
		return nil
	}
	var srcs []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		srcs = []*yaml.Node{v}
	case yaml.SequenceNode:
		srcs = v.Content
	}
	var out []pair
	for _, m := range srcs {
		m = deref(m)
		if m.Kind != yaml.MappingNode {
			l.errorf(m, path, "", "a merge key (<<) takes a mapping or a list of mappings, got %s", kindName(m))
			continue
		}
		var inner []pair
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := deref(m.Content[i])
			if k.ShortTag() == "!!merge" {
				inner = append(inner, l.mergeDepth(m.Content[i+1], path, depth+1)...)
				continue
			}
			out = append(out, pair{k.Value, k, m.Content[i+1]})
		}
		out = append(out, inner...)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalar checks that n is a scalar with one of the tags; it reports a type
// error naming want otherwise.
func (l *loader) scalar(n *yaml.Node, path, want string, tags ...string) (*yaml.Node, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		for _, t := range tags {
			if n.ShortTag() == t {
				return n, true
			}
		}
	}
	hint := ""
	if n.Kind == yaml.ScalarNode && want == "a string" {
		hint = fmt.Sprintf("quote it: %q", n.Value)
	}
	l.errorf(n, path, hint, "expected %s, got %s", want, kindName(n))
	return n, false
}

func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	n, ok := l.scalar(n, path, "a string", "!!str")
	return n.Value, ok
}

// plainStr is a string field that takes no templates.
func (l *loader) plainStr(n *yaml.Node, path string) (string, bool) {
	s, ok := l.str(n, path)
	if ok && HasTemplate(s) {
		l.errorf(n, path, "write the value literally", "templates (${{ }}) are not allowed here")
		return s, false
	}
	return s, ok
}

func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	n, ok := l.scalar(n, path, "a boolean (true or false)", "!!bool")
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		// YAML 1.2 spellings accepted by yaml.v3 that ParseBool does not know.
		return strings.EqualFold(n.Value, "true"), true
	}
	return b, true
}

func (l *loader) integer(n *yaml.Node, path string) (int64, bool) {
	n, ok := l.scalar(n, path, "an integer", "!!int")
	if !ok {
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		l.errorf(n, path, "", "integer %s is out of range", n.Value)
		return 0, false
	}
	return v, true
}

func (l *loader) number(n *yaml.Node, path string) (float64, bool) {
	n, ok := l.scalar(n, path, "a number", "!!int", "!!float")
	if !ok {
		return 0, false
	}
	var v float64
	if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		l.errorf(n, path, "", "%s is not a finite number", n.Value)
		return 0, false
	}
	return v, true
}

// duration reads a Go duration such as 30s, 15m or 1h30m; it must be > 0.
func (l *loader) duration(n *yaml.Node, path string) (time.Duration, bool) {
	dn := deref(n)
	if dn.Kind == yaml.ScalarNode && dn.ShortTag() == "!!int" {
		l.errorf(dn, path, fmt.Sprintf("add a unit: %ss", dn.Value), "a duration needs a unit, got %s", kindName(dn))
		return 0, false
	}
	s, ok := l.plainStr(n, path)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		l.errorf(dn, path, "use a number and a unit: 500ms, 30s, 15m, 4h, 1h30m", "invalid duration %q", s)
		return 0, false
	}
	if d <= 0 {
		l.errorf(dn, path, "", "duration must be positive, got %s", s)
		return 0, false
	}
	return d, true
}

// strList reads a list of strings; a single string is a list of one when
// single is true.
func (l *loader) strList(n *yaml.Node, path string, single bool) ([]string, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && single {
		return []string{n.Value}, true
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "", "expected a list of strings, got %s", kindName(n))
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for i, c := range n.Content {
		s, good := l.plainStr(c, idx(path, i))
		ok = ok && good
		if good {
			out = append(out, s)
		}
	}
	return out, ok
}

// value converts any YAML value into a Value, scanning string templates.
func (l *loader) value(n *yaml.Node, path string) *Value {
	n = deref(n)
	v := &Value{Pos: nodePos(n)}
	switch n.Kind {
	case yaml.MappingNode:
		v.Kind = KindMap
		pairs, _ := l.mapping(n, path, nil)
		for _, p := range pairs {
			v.Fields = append(v.Fields, &Field{Key: p.key, KeyPos: nodePos(p.k), Value: l.value(p.v, sub(path, p.key))})
		}
	case yaml.SequenceNode:
		v.Kind = KindList
		for i, c := range n.Content {
			v.Items = append(v.Items, l.value(c, idx(path, i)))
		}
	default:
		switch n.ShortTag() {
		case "!!null":
			v.Kind = KindNull
		case "!!bool":
			v.Kind = KindBool
			v.Bool, _ = l.boolean(n, path)
		case "!!int":
			v.Kind = KindInt
			if err := n.Decode(&v.Int); err != nil {
				l.errorf(n, path, "quote it to pass it as a string", "integer %s is out of range", n.Value)
			}
		case "!!float":
			v.Kind = KindFloat
			v.Float, _ = l.number(n, path)
		default: // strings, timestamps and binary stay text
			v.Kind = KindString
			v.Str = n.Value
			if HasTemplate(n.Value) {
				v.Template = l.template(n, path)
			}
		}
	}
	return v
}

// Go returns the literal Go value of v (templates stay as their source
// text): nil, bool, int64, float64, string, []any or map[string]any.
func (v *Value) Go() any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case KindBool:
		return v.Bool
	case KindInt:
		return v.Int
	case KindFloat:
		return v.Float
	case KindString:
		return v.Str
	case KindList:
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			out[i] = it.Go()
		}
		return out
	case KindMap:
		out := make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			out[f.Key] = f.Value.Go()
		}
		return out
	}
	return nil
}

// HasTemplates reports whether any string inside v holds an expression.
func (v *Value) HasTemplates() bool {
	if v == nil {
		return false
	}
	if v.Template != nil {
		return true
	}
	for _, it := range v.Items {
		if it.HasTemplates() {
			return true
		}
	}
	for _, f := range v.Fields {
		if f.Value.HasTemplates() {
			return true
		}
	}
	return false
}
