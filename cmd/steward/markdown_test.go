package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// markdownFiles are the repository's Markdown files a reader sees: the
// README, the project files beside it, and docs/*.md; paths relative to
// the repository.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range []string{"README.md", "CONTRIBUTING.md", "CHANGELOG.md"} {
		if _, err := os.Stat(filepath.Join("../..", f)); err == nil {
			files = append(files, f)
		}
	}
	for _, d := range docs {
		files = append(files, filepath.ToSlash(strings.TrimPrefix(d, "../../")))
	}
	return files
}

// markdown is a Markdown file parsed as CommonMark (goldmark, as GitHub
// renders it).
type markdown struct {
	file string
	src  []byte
	doc  ast.Node
}

func parseMarkdown(t *testing.T, file string) *markdown {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("../..", file))
	if err != nil {
		t.Fatal(err)
	}
	return &markdown{file: file, src: src, doc: goldmarkParse(src)}
}

func goldmarkParse(src []byte) ast.Node { return goldmark.New().Parser().Parse(text.NewReader(src)) }

// codeBlock is a fenced code block: its info string, content, and the
// 1-based lines of its opening fence and of the line after its content.
type codeBlock struct {
	info       string
	body       string
	line, next int
	fence      string // the opening fence: ``` or ~~~, or longer
}

// lineOf returns the 1-based line of byte offset off.
func (m *markdown) lineOf(off int) int { return strings.Count(string(m.src[:off]), "\n") + 1 }

// lines are the source's lines, [0] the first.
func (m *markdown) lines() []string { return strings.Split(string(m.src), "\n") }

var fenceRe = regexp.MustCompile("^\\s*(`{3,}|~{3,})")

// blocks returns the fenced code blocks, in order.
func (m *markdown) blocks() []codeBlock {
	var out []codeBlock
	lines := m.lines()
	ast.Walk(m.doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		f, ok := n.(*ast.FencedCodeBlock)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		b := codeBlock{}
		if f.Info != nil {
			b.info = strings.TrimSpace(string(f.Info.Segment.Value(m.src)))
			b.line = m.lineOf(f.Info.Segment.Start)
		}
		var body strings.Builder
		for i := 0; i < f.Lines().Len(); i++ {
			seg := f.Lines().At(i)
			if i == 0 && b.line == 0 {
				b.line = m.lineOf(seg.Start) - 1
			}
			body.Write(seg.Value(m.src))
			b.next = m.lineOf(seg.Stop-1) + 1
		}
		if b.next == 0 {
			b.next = b.line + 1
		}
		b.body = body.String()
		if b.line > 0 {
			b.fence = fenceRe.FindStringSubmatch(lines[b.line-1])[1]
		}
		out = append(out, b)
		return ast.WalkContinue, nil
	})
	return out
}

// headings returns the text of the headings of the given level.
func (m *markdown) headings(level int) []string {
	var out []string
	ast.Walk(m.doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering && h.Level == level {
			out = append(out, plainText(h, m.src))
		}
		return ast.WalkContinue, nil
	})
	return out
}

// plainText is the text of a node and its children, code spans included.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := c.(*ast.Text); ok && entering {
			b.Write(t.Segment.Value(src))
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// naiveHeadings are the lines that start with #s outside of fences, as a
// reader of the source sees them (a fence is any line starting with ```
// or ~~~, closed by the next one at least as long, whatever follows it on
// its line): what the author meant as headings.
func naiveHeadings(m *markdown, level int) []string {
	var out []string
	in := ""
	prefix := strings.Repeat("#", level) + " "
	for _, line := range m.lines() {
		if f := fenceRe.FindStringSubmatch(line); f != nil {
			switch {
			case in == "":
				in = f[1]
			case strings.HasPrefix(f[1], in):
				in = "" // as a reader takes it, text after it or not
			}
			continue
		}
		if in == "" && strings.HasPrefix(line, prefix) {
			out = append(out, strings.TrimSpace(strings.ReplaceAll(line[len(prefix):], "`", "")))
		}
	}
	return out
}

// markdownProblems checks what GitHub would show of a Markdown file:
// every code fence is closed by a fence line of its own, no fence line
// with text after it hides inside a code block (the text is taken as code,
// and so is all that follows until the next fence), every heading of the
// source is a heading, and every link to a file of the repository leads
// to one (exists says whether a path, relative to the repository, does).
func markdownProblems(m *markdown, exists func(string) bool) []string {
	var out []string
	strayFence := regexp.MustCompile("^\\s*(`{3,}|~{3,})[ \\t]+\\S")
	lines := m.lines()
	for _, b := range m.blocks() {
		if b.line == 0 {
			continue // an empty block without info: nothing to hide
		}
		closing := ""
		if b.next <= len(lines) {
			closing = strings.TrimSpace(lines[b.next-1])
		}
		if !strings.HasPrefix(closing, b.fence) || strings.Trim(closing, b.fence[:1]) != "" {
			out = append(out, fmt.Sprintf("%s:%d: the code block opened here is not closed", m.file, b.line))
		}
		for i, l := range strings.Split(b.body, "\n") {
			if strayFence.MatchString(l) && strings.HasPrefix(strings.TrimSpace(l), b.fence) {
				out = append(out, fmt.Sprintf("%s:%d: a fence followed by text, inside the code block opened at line %d: the text and what follows render as code", m.file, b.line+1+i, b.line))
			}
		}
	}
	for level := 1; level <= 3; level++ {
		if got, want := m.headings(level), naiveHeadings(m, level); !slices.Equal(got, want) {
			out = append(out, fmt.Sprintf("%s: level-%d headings as rendered: %q; as written: %q", m.file, level, got, want))
		}
	}
	ast.Walk(m.doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		l, ok := n.(*ast.Link)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		dest := string(l.Destination)
		if strings.Contains(dest, "://") || strings.HasPrefix(dest, "#") || strings.HasPrefix(dest, "mailto:") {
			return ast.WalkContinue, nil
		}
		path, _, _ := strings.Cut(dest, "#")
		if !exists(filepath.Join(filepath.Dir(m.file), path)) {
			out = append(out, fmt.Sprintf("%s: a link to %s, which is not in the repository", m.file, dest))
		}
		return ast.WalkContinue, nil
	})
	return out
}

// TestMarkdownRenders checks the README, the project files and the docs
// with markdownProblems.
func TestMarkdownRenders(t *testing.T) {
	exists := func(path string) bool {
		_, err := os.Stat(filepath.Join("../..", path))
		return err == nil
	}
	for _, file := range markdownFiles(t) {
		for _, p := range markdownProblems(parseMarkdown(t, file), exists) {
			t.Error(p)
		}
	}
}

// TestMarkdownProblems: what markdownProblems catches.
func TestMarkdownProblems(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"# A\n\n```sh\nls\n```\n\n## B\n\n[x](docs/x.md) [y](https://example.org) [z](#b)\n", ""},
		{"# A\n\n```sh\nls\n``` More text.\n\n## B\n\n```\nout\n```\n",
			"f.md:5: a fence followed by text, inside the code block opened at line 3: the text and what follows render as code\n" +
				`f.md: level-2 headings as rendered: []; as written: ["B"]` + "\n"},
		{"# A\n\n```sh\nls\n\n## B\n", "f.md:3: the code block opened here is not closed\n"},
		{"# A\n\n````markdown\n```sh\nls\n```\n````\n", ""},
		{"# A\n\n- item\n\n  ```sh\n  ls\n  ```\n", ""},
		{"See [the docs](docs/nothing.md#top).\n", "f.md: a link to docs/nothing.md#top, which is not in the repository\n"},
	} {
		src := []byte(tc.src)
		m := &markdown{file: "f.md", src: src, doc: goldmarkParse(src)}
		got := ""
		for _, p := range markdownProblems(m, func(p string) bool { return p == "docs/x.md" }) {
			got += p + "\n"
		}
		if got != tc.want {
			t.Errorf("%q:\ngot:\n%s\nwant:\n%s", tc.src, got, tc.want)
		}
	}
}

// TestReadmeSections: the README's sections are headings, the Plugins
// section's text after its last command included (a fence left open there
// made the rest of the README one code block).
func TestReadmeSections(t *testing.T) {
	m := parseMarkdown(t, "README.md")
	want := []string{"Install", "Quickstart", "Plugins", "Commands", "Run it as a service", "Tests", "Layout", "Contributing"}
	if got := m.headings(2); !slices.Equal(got, want) {
		t.Fatalf("README sections: %q, want %q", got, want)
	}
	found := false
	ast.Walk(m.doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if p, ok := n.(*ast.Paragraph); ok && entering && strings.HasPrefix(plainText(p, m.src), "Writing a plugin, from zero to a tested one:") {
			found = true
		}
		return ast.WalkContinue, nil
	})
	if !found {
		t.Error("README: \"Writing a plugin, from zero to a tested one\" is not a paragraph")
	}
}
