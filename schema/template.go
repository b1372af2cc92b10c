package schema

import (
	"fmt"
	"strings"
	"unicode"
)

// Segment is one piece of a template string: literal text or the source of
// one ${{ }} expression.
type Segment struct {
	Text   string // literal text, or the expression source without the braces
	Expr   bool   // Text is an expression
	Offset int    // byte offset of Text inside the template string
}

// ScanError is a malformed template; Offset is the byte offset of the problem.
type ScanError struct {
	Offset  int
	Message string
}

func (e *ScanError) Error() string { return e.Message }

// maxTemplateExprs bounds the number of expressions in one string.
const maxTemplateExprs = 256

// ScanTemplate splits s into literal text and ${{ expression }} segments.
// The scanner understands expr string literals ("…", '…' and `…`), so "}}"
// inside a string literal does not end an expression, and it balances braces
// so map literals such as {"a": {"b": 1}} may appear inside an expression.
func ScanTemplate(s string) ([]Segment, error) {
	var segs []Segment
	i, exprs := 0, 0
	for i < len(s) {
		j := strings.Index(s[i:], "${{")
		if j < 0 {
			segs = append(segs, Segment{Text: s[i:], Offset: i})
			break
		}
		if j > 0 {
			segs = append(segs, Segment{Text: s[i : i+j], Offset: i})
		}
		open := i + j
		start := open + 3
		end, err := scanExpr(s, start)
		if err != nil {
			return nil, err
		}
		body := s[start:end]
		trimmed := strings.TrimSpace(body)
		if trimmed == "" {
			return nil, &ScanError{Offset: open, Message: "empty expression ${{ }}"}
		}
		lead := len(body) - len(strings.TrimLeftFunc(body, unicode.IsSpace))
		exprs++
		if exprs > maxTemplateExprs {
			return nil, &ScanError{Offset: open, Message: fmt.Sprintf("more than %d expressions in one string", maxTemplateExprs)}
		}
		segs = append(segs, Segment{Text: trimmed, Expr: true, Offset: start + lead})
		i = end + 2
	}
	return segs, nil
}

// scanExpr returns the offset of the "}}" that closes the expression starting
// at start.
func scanExpr(s string, start int) (int, error) {
	depth := 0
	for i := start; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			k := i + 1
			for ; k < len(s); k++ {
				if s[k] == '\\' && c != '`' {
					k++
					continue
				}
				if s[k] == c {
					break
				}
			}
			if k >= len(s) {
				return 0, &ScanError{Offset: i, Message: "unterminated string literal in expression"}
			}
			i = k
		case '{':
			depth++
		case '}':
			if depth == 0 {
				if i+1 < len(s) && s[i+1] == '}' {
					return i, nil
				}
				return 0, &ScanError{Offset: i, Message: `unbalanced "}" in expression; close it with "}}"`}
			}
			depth--
		}
	}
	return 0, &ScanError{Offset: start - 3, Message: `unterminated expression: "${{" has no closing "}}"`}
}

// HasTemplate reports whether s contains a ${{ opening.
func HasTemplate(s string) bool { return strings.Contains(s, "${{") }
