package runtest

import (
	"fmt"
	"strings"

	"github.com/stewardhq/steward/schema"
	"gopkg.in/yaml.v3"
)

// Helpers to walk a yaml.Node tree strictly, reporting every problem at
// its line and column.

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// field is one key of a mapping.
type field struct {
	key  string
	k, v *yaml.Node
	path string
}

// fields returns the keys of a mapping in order, reporting a node that is
// not a mapping, duplicate keys and, when known is not nil, unknown keys.
// Merge keys (<<: *anchor, or a list of anchors) are applied as in
// runbooks: the merged keys come after the explicit ones, which override
// them.
func (p *parser) fields(n *yaml.Node, path string, known []string) []field {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		if n.Tag != "!!null" {
			p.errorf(n, path, "", "must be a mapping, got %s", kind(n))
		}
		return nil
	}
	var out []field
	var merged []field
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		key := k.Value
		fp := sub(path, key)
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errorf(k, path, "", "keys must be text")
			continue
		case k.ShortTag() == "!!merge":
			merged = append(merged, p.mergeFields(v, path)...)
			continue
		case seen[key]:
			p.errorf(k, fp, "", "%q is given twice", key)
			continue
		case known != nil && !contains(known, key):
			p.unknownKey(k, fp, key, known, "")
			continue
		}
		seen[key] = true
		out = append(out, field{key: key, k: k, v: v, path: fp})
	}
	for _, f := range merged {
		if seen[f.key] {
			continue // explicit keys override merged ones
		}
		if known != nil && !contains(known, f.key) {
			p.unknownKey(f.k, f.path, f.key, known, " (merged from an anchor)")
			continue
		}
		seen[f.key] = true
		out = append(out, f)
	}
	return out
}

func (p *parser) unknownKey(k *yaml.Node, path, key string, known []string, note string) {
	hint := "valid keys: " + strings.Join(known, ", ")
	if s := schema.Suggest(key, known); s != "" {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	p.errorf(k, path, hint, "unknown key %q%s", key, note)
}

// maxMergeDepth bounds merge keys inside merged mappings (an anchor whose
// mapping merges another), which could otherwise loop through aliases.
const maxMergeDepth = 16

// mergeFields lists the keys a merge key brings: those of a mapping, or of
// each mapping of a list, the first mapping winning; a merged mapping's
// own merge keys are applied too, its explicit keys overriding them.
func (p *parser) mergeFields(v *yaml.Node, path string) []field { return p.mergeDepth(v, path, 0) }

func (p *parser) mergeDepth(v *yaml.Node, path string, depth int) []field {
	if depth >= maxMergeDepth {
		p.errorf(v, path, "", "merge keys (<<) nest more than %d deep", maxMergeDepth)
		return nil
	}
	srcs := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	}
	var out []field
	for _, m := range srcs {
		m = resolve(m)
		if m.Kind != yaml.MappingNode {
			p.errorf(m, path, "", "a merge key (<<) takes a mapping or a list of mappings, got %s", kind(m))
			continue
		}
		var inner []field
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := resolve(m.Content[i])
			if k.ShortTag() == "!!merge" {
				inner = append(inner, p.mergeDepth(resolve(m.Content[i+1]), path, depth+1)...)
				continue
			}
			out = append(out, field{key: k.Value, k: k, v: resolve(m.Content[i+1]), path: sub(path, k.Value)})
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

func sub(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!null":
		return "nothing"
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (p *parser) str(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, path, "", "must be text, got %s", kind(n))
		return ""
	}
	return n.Value
}

func (p *parser) boolean(n *yaml.Node, path string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errorf(n, path, "", "must be true or false, got %s", kind(n))
		return false
	}
	return n.Value == "true"
}

func (p *parser) integer(n *yaml.Node, path string, least int) (int, bool) {
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.errorf(n, path, "", "must be an integer, got %s", kind(n))
		return 0, false
	}
	if v < least {
		p.errorf(n, path, "", "must be at least %d, got %d", least, v)
		return 0, false
	}
	return v, true
}

func (p *parser) list(n *yaml.Node, path string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "", "must be a list, got %s", kind(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

// value converts a node to plain data: strings, int, float64, bool, nil,
// []any and map[string]any. With exprs, a string holding ${{ }} becomes an
// *Expression.
func (p *parser) value(n *yaml.Node, path string, exprs bool) any {
	return p.valueDepth(n, path, exprs, 0)
}

func (p *parser) valueDepth(n *yaml.Node, path string, exprs bool, depth int) any {
	n = resolve(n)
	if p.values++; depth > 100 || p.values > maxValues {
		if p.values <= maxValues+1 {
			p.errorf(n, path, "", "nested too deep, or too many values (aliases?)")
		}
		return nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = p.valueDepth(c, fmt.Sprintf("%s[%d]", path, i), exprs, depth+1)
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		for _, f := range p.fields(n, path, nil) {
			out[f.key] = p.valueDepth(f.v, f.path, exprs, depth+1)
		}
		return out
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err == nil {
			return v
		}
	}
	if exprs {
		e, err := compileExpression(n.Value)
		if err != nil {
			p.errorf(n, path, "", "%s", oneLine(err.Error()))
			return nil
		}
		if e != nil {
			return e
		}
	}
	return n.Value
}

// oneLine keeps the first line of an expr error (the rest draws a caret).
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// object converts a mapping node to plain data.
func (p *parser) object(n *yaml.Node, path string) map[string]any {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "", "must be a mapping, got %s", kind(n))
		return nil
	}
	m, _ := p.value(n, path, false).(map[string]any)
	return m
}
