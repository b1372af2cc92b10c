package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits that protect the loader from huge or hostile documents.
const (
	MaxFileSize     = 1 << 20 // bytes in one runbook file
	MaxDepth        = 64      // nesting of mappings and sequences
	MaxAliasNodes   = 10000   // nodes reachable through aliases, counted per use
	MaxExprLength   = 4096    // characters in one expression
	maxDiagnostics  = 200     // per file; the rest are summarised
	bomUTF8         = "\xef\xbb\xbf"
	yamlErrorPrefix = "yaml: "
)

// Load parses one runbook file and checks its structure: YAML syntax, known
// keys, the type of every field, formats and bounds. It returns the runbook,
// possibly partial, and every problem found. Call Validate next for the
// checks that need the whole document (references, DAG, expressions).
func Load(file string, src []byte) (*Runbook, Diagnostics) {
	s := newSource(file, src)
	rb := &Runbook{File: file}
	if len(src) > MaxFileSize {
		return rb, Diagnostics{s.diag(Pos{1, 1}, "", "",
			"file is %s; a runbook may be at most 1 MiB", humanBytes(len(src)))}
	}
	if !utf8.Valid(src) {
		off := firstInvalidUTF8(src)
		return rb, Diagnostics{s.diag(s.posOf(off), "", "save the file as UTF-8",
			"invalid UTF-8 (byte 0x%02x at offset %d); a runbook must be UTF-8 text", src[off], off)}
	}
	text := bytes.TrimPrefix(src, []byte(bomUTF8))

	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return rb, Diagnostics{emptyDiag(s)}
		}
		return rb, Diagnostics{syntaxDiag(s, err)}
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		return rb, Diagnostics{s.diag(secondDocPos(s), "",
			"split them into one file per runbook",
			"several YAML documents in one file; a runbook file holds exactly one")}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
		return rb, Diagnostics{emptyDiag(s)}
	}
	l := &loader{src: s}
	rb.src = s
	root := doc.Content[0]
	if !l.checkShape(root) {
		return rb, l.diags
	}
	l.runbook(rb, root)
	l.diags.Sort()
	return rb, l.finish()
}

func emptyDiag(s *source) Diagnostic {
	return s.diag(Pos{1, 1}, "", "start from: version: 1, name: my-runbook, steps: [...]",
		"file is empty; a runbook needs at least version, name and steps")
}

var yamlLineRe = lazyRegexp(`^line (\d+): `)

// syntaxDiag turns a yaml.v3 syntax error into a positioned diagnostic with
// a hint for the mistakes runbook authors make most.
func syntaxDiag(s *source, err error) Diagnostic {
	msg := strings.TrimPrefix(err.Error(), yamlErrorPrefix)
	// yaml.v3 reports parser errors at the 0-based line of their context,
	// one line early, and omits the line when that is the first one. The
	// shortest prefix of the file that fails the same way is reliable.
	line := 0
	if m := yamlLineRe().FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	if found := findErrorLine(s, msg); found > 0 {
		line = found
	}
	if line < 1 {
		line = 1
	}
	// yaml.v3 reports an unexpected end of input one line past the end.
	for line > len(s.lines) || line > 1 && strings.TrimSpace(s.line(line)) == "" && strings.Contains(msg, "end of stream") {
		line--
	}
	src := s.line(line)
	col := firstNonSpace(src)
	hint := ""
	switch {
	case strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token") && strings.Contains(leading(src), "\t"):
		for l := line; l <= len(s.lines) && !strings.Contains(leading(src), "\t"); l++ {
			line, src = l, s.line(l)
		}
		col = strings.IndexByte(src, '\t') + 1
		return s.diag(Pos{line, col}, "", "indent with spaces; replace the tab",
			"tab character in indentation; YAML indents with spaces only")
	case strings.Contains(msg, "did not find expected ',' or '}'") && strings.Contains(src, "${{"):
		col = runeCol(src, strings.Index(src, "${{"))
		hint = `quote the value ('${{ … }}') or use block style (one "key: value" per line)`
		msg = `"${{ }}" inside a flow mapping {…} is not valid YAML`
	case strings.Contains(msg, "did not find expected ',' or ']'") && strings.Contains(src, "["):
		col = runeCol(src, strings.LastIndex(src, "["))
		hint = `close the list with "]"`
	case strings.Contains(msg, "mapping values are not allowed"):
		if i := secondColon(src); i >= 0 {
			col = runeCol(src, i)
		}
		if strings.Contains(src, "${{") || strings.Contains(src, "?") {
			hint = `an unquoted value cannot contain ": " (as in a ? b : c); quote the whole value: key: '${{ a ? b : c }}'`
		} else {
			hint = `a plain value cannot contain ": "; quote the value`
		}
		msg = `unquoted ": " inside a value (mapping values are not allowed in this context)`
	}
	return s.diag(Pos{line, col}, "", hint, "invalid YAML: %s", msg)
}

// findErrorLine locates a syntax error that yaml.v3 reports without a line:
// the shortest prefix of the document, in whole lines, that fails with the
// same message.
func findErrorLine(s *source, msg string) int {
	text := bytes.TrimPrefix(s.text, []byte(bomUTF8))
	skew := len(s.text) - len(text)
	fails := func(n int) bool {
		end := len(s.text)
		if n < len(s.start) {
			end = s.start[n]
		}
		var node yaml.Node
		err := yaml.Unmarshal(text[:end-skew], &node)
		return err != nil && strings.HasSuffix(err.Error(), msg)
	}
	lo, hi := 1, len(s.lines)
	if !fails(hi) {
		return 0
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// secondDocPos finds the "---" that starts the second document.
func secondDocPos(s *source) Pos {
	seenContent := false
	for i, line := range s.lines {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(line, "---") && (len(line) == 3 || line[3] == ' ' || line[3] == '\t') {
			if seenContent {
				return Pos{i + 1, 1}
			}
			seenContent = true
			continue
		}
		if trim != "" && !strings.HasPrefix(trim, "#") && !strings.HasPrefix(line, "%") {
			seenContent = true
		}
	}
	return Pos{1, 1}
}

// secondColon finds the ": " that a plain scalar may not hold: the first one
// after the key's own colon.
func secondColon(line string) int {
	first := strings.Index(line, ": ")
	if first < 0 {
		return -1
	}
	rest := line[first+2:]
	if i := strings.Index(rest, ": "); i >= 0 {
		return first + 2 + i
	}
	if strings.HasSuffix(rest, ":") {
		return len(line) - 1
	}
	return -1
}

func leading(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

func firstNonSpace(s string) int { return utf8.RuneCountInString(leading(s)) + 1 }

func runeCol(s string, byteOff int) int { return utf8.RuneCountInString(s[:byteOff]) + 1 }

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

func humanBytes(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// lazyRegexp returns a regexp compiled on first use: compiled at package
// initialisation, it would cost every start of steward (and of anything
// else that links this package), whether it loads a runbook or not.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// SyntaxError turns an error of yaml.v3 reading src (a YAML file of
// Steward's other than a runbook: steward.yaml) into a diagnostic at its
// line, as the loader reports a runbook's, with the same hints.
func SyntaxError(file string, src []byte, err error) Diagnostic {
	return syntaxDiag(newSource(file, src), err)
}
