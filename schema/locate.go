package schema

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// template scans a string scalar holding ${{ }} into a Template. Scan errors
// are reported at their place inside the file.
func (l *loader) template(n *yaml.Node, path string) *Template {
	t := &Template{Source: n.Value}
	segs, err := ScanTemplate(n.Value)
	if err != nil {
		se := err.(*ScanError)
		ref := &scalarRef{pos: nodePos(n), value: n.Value, path: path}
		l.errorAt(l.src.locate(ref, se.Offset), path, "", "%s", se.Message)
		return nil
	}
	for _, sg := range segs {
		if !sg.Expr {
			t.Parts = append(t.Parts, TemplatePart{Text: sg.Text})
			continue
		}
		e := l.newExpr(n, path, sg.Text, sg.Offset)
		if e == nil {
			return nil
		}
		t.Parts = append(t.Parts, TemplatePart{Expr: e})
	}
	return t
}

func (l *loader) newExpr(n *yaml.Node, path, text string, off int) *Expr {
	ref := &scalarRef{pos: nodePos(n), offset: off, value: n.Value, path: path}
	e := &Expr{Source: text, node: ref, Pos: l.src.locate(ref, off)}
	if utf8.RuneCountInString(text) > MaxExprLength {
		l.errorAt(e.Pos, path, "move the logic into a plugin action", "expression is longer than %d characters", MaxExprLength)
		return nil
	}
	return e
}

// exprField reads a field that holds one expression, bare or wrapped in
// ${{ }}: if, for_each, retry.when and concurrency.key.
func (l *loader) exprField(n *yaml.Node, path string) *Expr {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		hint := ""
		if n.Kind == yaml.SequenceNode {
			hint = `write a list as an expression: '${{ ["a", "b"] }}'`
		}
		l.errorf(n, path, hint, "expected an expression, got %s", kindName(n))
		return nil
	}
	v := n.Value
	if n.ShortTag() == "!!null" || strings.TrimSpace(v) == "" {
		l.errorf(n, path, "", "empty expression")
		return nil
	}
	if !HasTemplate(v) {
		lead := len(v) - len(strings.TrimLeftFunc(v, unicode.IsSpace))
		return l.newExpr(n, path, strings.TrimSpace(v), lead)
	}
	segs, err := ScanTemplate(v)
	if err != nil {
		se := err.(*ScanError)
		l.errorAt(l.src.locate(&scalarRef{pos: nodePos(n), value: v}, se.Offset), path, "", "%s", se.Message)
		return nil
	}
	var found *Segment
	for i := range segs {
		sg := &segs[i]
		if sg.Expr {
			if found != nil {
				found = nil
				break
			}
			found = sg
		} else if strings.TrimSpace(sg.Text) != "" {
			found = nil
			break
		}
	}
	if found == nil {
		l.errorf(n, path, "write the condition bare (a == b) or as one ${{ a == b }}",
			"this field holds one expression, not text with ${{ }} inside")
		return nil
	}
	return l.newExpr(n, path, found.Text, found.Offset)
}

// locate maps a byte offset inside a scalar's value to its position in the
// file. It finds the offset's line of the value in the raw text from the
// scalar's start, which handles quotes, block scalars and indentation; where
// escapes make the raw text differ, it falls back to the scalar's start.
func (s *source) locate(ref *scalarRef, off int) Pos {
	v := ref.value
	if off > len(v) {
		off = len(v)
	}
	ls := strings.LastIndexByte(v[:off], '\n') + 1
	le := strings.IndexByte(v[off:], '\n')
	if le < 0 {
		le = len(v)
	} else {
		le += off
	}
	seg := v[ls:le]
	base := s.offset(ref.pos)
	if base >= 0 && seg != "" {
		// The raw text of the scalar is its value plus quotes, escapes
		// and indentation; look no further than that could reach.
		end := min(len(s.text), base+len(v)+(strings.Count(v, "\n")+1)*256+16)
		if i := strings.Index(string(s.text[base:end]), seg); i >= 0 {
			return s.posOf(base + i + (off - ls))
		}
	}
	if base >= 0 {
		// Folding joined lines of the raw text with spaces: find the word
		// the offset is in by counting words, which folding keeps.
		if p, ok := s.locateWord(base, v, off); ok {
			return p
		}
	}
	if base >= 0 && !strings.Contains(v[:off], "\n") {
		// Escapes: approximate from the scalar's start.
		return Pos{ref.pos.Line, ref.pos.Column + utf8.RuneCountInString(v[:off])}
	}
	return ref.pos
}

// locateWord finds the offset's place in the raw text of a folded scalar
// (a quoted or plain scalar over several lines, or a > block), where each
// line break and its indentation became one space: the offset is in the
// k-th whitespace-separated word of the value, and the raw text from the
// scalar's start has the same words, the first one with its opening quote
// and a block scalar's header line before them.
func (s *source) locateWord(base int, v string, off int) (Pos, bool) {
	k, start := -1, 0
	for i := 0; i <= off && i < len(v); {
		if isSpace(v[i]) {
			i++
			continue
		}
		j := i
		for j < len(v) && !isSpace(v[j]) {
			j++
		}
		k++
		start = i
		if off < j {
			break
		}
		i = j
	}
	if k < 0 || off < start {
		return Pos{}, false
	}
	word := v[start:min(len(v), start+wordEnd(v[start:]))]
	raw := string(s.text[base:min(len(s.text), base+len(v)+(strings.Count(v, "\n")+1)*256+16)])
	i := 0
	if raw != "" && (raw[0] == '|' || raw[0] == '>') { // a block scalar's header
		if nl := strings.IndexByte(raw, '\n'); nl >= 0 {
			i = nl + 1
		}
	}
	for n := -1; i < len(raw); {
		if isSpace(raw[i]) {
			i++
			continue
		}
		j := i + wordEnd(raw[i:])
		if n++; n == k {
			rw := raw[i:j]
			if !strings.HasSuffix(strings.TrimRight(rw, `'"`), strings.TrimRight(word, `'"`)) {
				return Pos{}, false // escapes changed the word
			}
			lead := len(strings.TrimRight(rw, `'"`)) - len(strings.TrimRight(word, `'"`))
			return s.posOf(base + i + lead + (off - start)), true
		}
		i = j
	}
	return Pos{}, false
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// wordEnd is the length of the word s starts with.
func wordEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return i
		}
	}
	return len(s)
}
