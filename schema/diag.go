package schema

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
)

// Pos is a 1-based line and column (in characters) inside a runbook file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Severity says whether a diagnostic makes a runbook invalid.
type Severity int

const (
	// SeverityError: the runbook is invalid; nothing of it runs. The zero
	// value.
	SeverityError Severity = iota
	// SeverityWarning: something could not be checked here, such as the
	// with of an action whose plugin is not installed. The runbook is
	// valid unless warnings are made errors (validate --strict); a run
	// refuses it.
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// MarshalText writes "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "error" or "warning".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error", "":
		*s = SeverityError
	case "warning":
		*s = SeverityWarning
	default:
		return fmt.Errorf("unknown severity %q: want error or warning", b)
	}
	return nil
}

// Diagnostic is one problem found in a runbook, located in its file.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	Path     string   `json:"path"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
	// Source is the text of the line the diagnostic points at, for the caret display.
	Source string `json:"-"`
}

// Header renders the first line: FILE:LINE:COL: FIELD.PATH: message, or
// FILE:LINE:COL: warning: FIELD.PATH: message for a warning.
func (d Diagnostic) Header() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Column)
	}
	b.WriteString(": ")
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Error implements error with the one-line header.
func (d Diagnostic) Error() string { return d.Header() }

// Render returns the header, the source line with a caret under the column and
// the hint, each on its own line, ending with a newline.
func (d Diagnostic) Render() string {
	var b strings.Builder
	b.WriteString(d.Header())
	b.WriteByte('\n')
	if d.Line > 0 && d.Source != "" {
		num := fmt.Sprintf("%5d | ", d.Line)
		b.WriteString(num)
		b.WriteString(d.Source)
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(" ", len(num)-2))
		b.WriteString("| ")
		// Keep tabs so the caret lines up under tab-indented text.
		col := 1
		for _, r := range d.Source {
			if col >= d.Column {
				break
			}
			if r == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
			col++
		}
		b.WriteString("^\n")
	}
	if d.Hint != "" {
		b.WriteString("  hint: ")
		b.WriteString(d.Hint)
		b.WriteByte('\n')
	}
	return b.String()
}

// Diagnostics is every problem found in one or more files.
type Diagnostics []Diagnostic

// Error joins the headers; a Diagnostics value is an error only when non-empty.
func (ds Diagnostics) Error() string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Header()
	}
	return strings.Join(parts, "\n")
}

// Render renders every diagnostic with its source line and hint.
func (ds Diagnostics) Render() string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Render())
	}
	return b.String()
}

// Count returns how many of the diagnostics are errors and how many are
// warnings.
func (ds Diagnostics) Count() (errors, warnings int) {
	for _, d := range ds {
		if d.Severity == SeverityWarning {
			warnings++
		} else {
			errors++
		}
	}
	return errors, warnings
}

// Errors returns the diagnostics that are errors, dropping warnings: what
// makes a runbook invalid when warnings are tolerated (runbook tests mock
// the actions of plugins not installed).
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity != SeverityWarning {
			out = append(out, d)
		}
	}
	return out
}

// Strict returns the diagnostics with every warning made an error: for
// validate --strict, and for a run, which cannot use what could not be
// checked.
func (ds Diagnostics) Strict() Diagnostics {
	if ds == nil {
		return nil
	}
	out := make(Diagnostics, len(ds))
	for i, d := range ds {
		d.Severity = SeverityError
		out[i] = d
	}
	return out
}

// Sort orders diagnostics by file, line and column, keeping the order of
// diagnostics at the same place.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// source holds a file's text split into lines, to locate positions.
type source struct {
	file  string
	text  []byte
	lines []string // without line terminators
	start []int    // byte offset of each line
}

func newSource(file string, text []byte) *source {
	s := &source{file: file, text: text}
	// Line breaks as yaml.v3 counts them: \n, \r\n, a lone \r, and the
	// Unicode breaks NEL, LS and PS.
	lineStart := 0
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(text[i:])
		}
		brk := 0
		switch r {
		case '\n', '\u0085', '\u2028', '\u2029':
			brk = size
		case '\r':
			brk = 1
			if i+1 < len(text) && text[i+1] == '\n' {
				brk = 2
			}
		}
		if brk == 0 {
			i += size
			continue
		}
		s.lines = append(s.lines, string(text[lineStart:i]))
		s.start = append(s.start, lineStart)
		i += brk
		lineStart = i
	}
	s.lines = append(s.lines, string(text[lineStart:]))
	s.start = append(s.start, lineStart)
	return s
}

func (s *source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return s.lines[n-1]
}

// offset converts a position to a byte offset in text, or -1.
func (s *source) offset(p Pos) int {
	if p.Line < 1 || p.Line > len(s.lines) {
		return -1
	}
	line := s.lines[p.Line-1]
	col := 1
	for i := range line {
		if col == p.Column {
			return s.start[p.Line-1] + i
		}
		col++
	}
	return s.start[p.Line-1] + len(line)
}

// posOf converts a byte offset in text to a position.
func (s *source) posOf(off int) Pos {
	i := sort.Search(len(s.start), func(i int) bool { return s.start[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	col := utf8.RuneCount(s.text[s.start[i]:min(off, len(s.text))]) + 1
	return Pos{Line: i + 1, Column: col}
}

// diag builds a diagnostic at p with the source line filled in.
func (s *source) diag(p Pos, path, hint, format string, args ...any) Diagnostic {
	return Diagnostic{
		File: s.file, Line: p.Line, Column: p.Column, Path: path,
		Message: fmt.Sprintf(format, args...), Hint: hint, Source: s.line(p.Line),
	}
}

// EvalError places an error from running e (a runtime expression error, or
// any other) at its line and column in the runbook's file, with the
// expression's field path, so that a failed template points at the YAML.
func (rb *Runbook) EvalError(e *Expr, err error) Diagnostic {
	msg := err.Error()
	pos := e.Pos
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		if rb.src != nil && e.node != nil {
			pos = rb.src.locate(e.node, e.node.offset+runeToByte(e.Source, fe.From))
		}
	}
	path := ""
	if e.node != nil {
		path = e.node.path
	}
	d := Diagnostic{File: rb.File, Line: pos.Line, Column: pos.Column, Path: path,
		Message: fmt.Sprintf("${{ %s }}: %s", e.Source, msg)}
	if rb.src != nil {
		d.Source = rb.src.line(pos.Line)
	}
	return d
}
