package runtest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/schema"
	"gopkg.in/yaml.v3"
)

// Parse reads a test file. Unknown keys, wrong types and malformed
// expressions are diagnostics at their line and column; every problem is
// reported.
func Parse(file string, src []byte) (*File, schema.Diagnostics) {
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	p := &parser{f: &File{Path: file, lines: strings.Split(text, "\n")}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		line := 1
		msg := err.Error()
		if n, ok := yamlLine(msg); ok {
			line = n
			msg = strings.TrimPrefix(msg, fmt.Sprintf("yaml: line %d: ", n))
		} else if len(bytes.TrimSpace(src)) == 0 || msg == "EOF" {
			msg = "the test file is empty: give cases"
		}
		p.errorAt(schema.Pos{Line: line, Column: 1}, "", "", "%s", strings.TrimPrefix(msg, "yaml: "))
		return p.f, p.diags
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		p.errorf(&more, "", "split the cases of several documents into one list", "a test file is one YAML document")
	}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = resolve(root.Content[0])
	}
	p.top(root)
	p.diags.Sort()
	return p.f, p.diags
}

// yamlLine finds "line N" in a yaml.v3 error.
func yamlLine(msg string) (int, bool) {
	_, rest, ok := strings.Cut(msg, "line ")
	if !ok {
		return 0, false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	n, err := strconv.Atoi(rest[:end])
	return n, err == nil && n > 0
}

type parser struct {
	f      *File
	diags  schema.Diagnostics
	values int // converted so far, against alias bombs
}

// maxValues bounds the values a test file may expand to.
const maxValues = 1_000_000

func (p *parser) errorAt(pos schema.Pos, path, hint, format string, args ...any) {
	p.diags = append(p.diags, p.f.diag(pos, path, hint, format, args...))
}

func (p *parser) errorf(n *yaml.Node, path, hint, format string, args ...any) {
	p.errorAt(pos(n), path, hint, format, args...)
}

func pos(n *yaml.Node) schema.Pos { return schema.Pos{Line: n.Line, Column: n.Column} }

var (
	topKeys    = []string{"runbook", "groups", "mocks", "cases"}
	caseKeys   = []string{"name", "inputs", "actor", "dry_run", "secrets", "mocks", "approvals", "expect"}
	mockKeys   = []string{"outputs", "error", "attempts", "items"}
	replyKeys  = []string{"outputs", "error"}
	errorKeys  = []string{"message", "code", "retryable"}
	decideKeys = []string{"approve", "by", "comment"}
)

func (p *parser) top(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "", "", "a test file is a mapping with cases:, got %s", kind(n))
		return
	}
	hasCases := false
	for _, f := range p.fields(n, "", nil) {
		if strings.HasPrefix(f.key, "x-") {
			continue // shared fixtures, for anchors: x-payment: &payment {...}
		}
		if !contains(topKeys, f.key) {
			p.unknownKey(f.k, f.path, f.key, topKeys, "")
			continue
		}
		switch f.key {
		case "runbook":
			p.f.Runbook, p.f.RunbookPos = p.str(f.v, f.path), pos(f.v)
		case "groups":
			p.f.Groups = map[string][]string{}
			for _, g := range p.fields(f.v, f.path, nil) {
				var members []string
				for j, m := range p.list(g.v, g.path) {
					if name := p.str(m, fmt.Sprintf("%s[%d]", g.path, j)); name != "" {
						members = append(members, name)
					}
				}
				if g.v.Kind == yaml.SequenceNode && len(members) == 0 {
					p.errorf(g.v, g.path, "", "a group lists at least one member")
				}
				p.f.Groups[g.key] = members
			}
		case "mocks":
			// Mocks for every case, such as a health check that most
			// cases do not look at; a case's own mock of the same step
			// or action wins.
			p.f.Mocks = map[string]*Mock{}
			for _, m := range p.fields(f.v, f.path, nil) {
				mk := p.mock(m.v, m.path, true)
				mk.Key, mk.Pos = m.key, pos(m.k)
				p.f.Mocks[m.key] = mk
			}
		case "cases":
			hasCases = true
			items := p.list(f.v, f.path)
			if f.v.Kind == yaml.SequenceNode && len(items) == 0 {
				p.errorf(f.v, f.path, "", "give at least one case")
			}
			names := map[string]int{}
			for i, c := range items {
				tc := p.testCase(c, fmt.Sprintf("cases[%d]", i))
				if tc == nil {
					continue
				}
				if line, dup := names[tc.Name]; dup && tc.Name != "" {
					p.errorAt(tc.Pos, fmt.Sprintf("cases[%d].name", i), "", "case name %q is already used at line %d", tc.Name, line)
				}
				names[tc.Name] = tc.Pos.Line
				p.f.Cases = append(p.f.Cases, tc)
			}
		}
	}
	if !hasCases {
		p.errorf(n, "cases", "", "cases is required: a list of test cases")
	}
	for _, c := range p.f.Cases {
		for key, m := range p.f.Mocks {
			if _, own := c.Mocks[key]; !own {
				c.Mocks[key] = m
			}
		}
	}
}

func (p *parser) testCase(n *yaml.Node, path string) *Case {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "", "a case must be a mapping, got %s", kind(n))
		return nil
	}
	c := &Case{Pos: pos(n), Actor: "test", Mocks: map[string]*Mock{}, Approvals: map[string]*Approval{}}
	named := false
	for _, f := range p.fields(n, path, caseKeys) {
		switch f.key {
		case "name":
			named = true
			c.Name = strings.TrimSpace(p.str(f.v, f.path))
			c.Pos = pos(f.v)
			if c.Name == "" && f.v.Kind == yaml.ScalarNode {
				p.errorf(f.v, f.path, "", "must not be empty")
			}
		case "inputs":
			c.Inputs = p.object(f.v, f.path)
		case "actor":
			c.Actor = p.str(f.v, f.path)
		case "dry_run":
			c.DryRun = p.boolean(f.v, f.path)
		case "secrets":
			c.Secrets = map[string]string{}
			for _, s := range p.fields(f.v, f.path, nil) {
				c.Secrets[s.key] = p.str(s.v, s.path)
			}
		case "mocks":
			for _, m := range p.fields(f.v, f.path, nil) {
				mk := p.mock(m.v, m.path, true)
				mk.Key, mk.Pos = m.key, pos(m.k)
				c.Mocks[m.key] = mk
			}
		case "approvals":
			for _, a := range p.fields(f.v, f.path, nil) {
				ap := p.approval(a.v, a.path)
				ap.Step, ap.Pos = a.key, pos(a.k)
				c.Approvals[a.key] = ap
			}
		case "expect":
			p.expect(f.v, f.path, &c.Expect)
			for _, w := range c.Expect.wants() {
				w.Path = relative(w.Path)
			}
		}
	}
	if !named {
		p.errorf(n, path, "", "a case needs a name")
	}
	return c
}

func (p *parser) mock(n *yaml.Node, path string, items bool) *Mock {
	m := &Mock{Pos: pos(n)}
	keys := mockKeys
	if !items {
		keys = mockKeys[:3]
	}
	fs := p.fields(n, path, keys)
	var forms []string
	for _, f := range fs {
		form := f.key
		if form == "error" {
			form = "outputs"
		}
		if !contains(forms, form) {
			forms = append(forms, form)
		}
	}
	if len(forms) > 1 {
		p.errorf(n, path, "give outputs or error, attempts, or items", "%s cannot be used together", strings.Join(forms, " and "))
	}
	for _, f := range fs {
		switch f.key {
		case "outputs", "error":
			if m.Reply == nil {
				m.Reply = &Reply{Pos: pos(n)}
			}
			if f.key == "outputs" {
				m.Reply.Outputs = p.object(f.v, f.path)
			} else {
				m.Reply.Error = p.mockError(f.v, f.path)
			}
			if m.Reply.Outputs != nil && m.Reply.Error != nil {
				p.errorf(n, path, "", "a mock gives outputs or an error, not both")
			}
		case "attempts":
			list := p.list(f.v, f.path)
			if f.v.Kind == yaml.SequenceNode && len(list) == 0 {
				p.errorf(f.v, f.path, "", "give at least one attempt")
			}
			for i, a := range list {
				m.Attempts = append(m.Attempts, p.reply(a, fmt.Sprintf("%s[%d]", f.path, i)))
			}
		case "items":
			list := p.list(f.v, f.path)
			if f.v.Kind == yaml.SequenceNode && len(list) == 0 {
				p.errorf(f.v, f.path, "", "give at least one item")
			}
			for i, it := range list {
				m.Items = append(m.Items, p.mock(it, fmt.Sprintf("%s[%d]", f.path, i), false))
			}
		}
	}
	return m
}

// reply reads {outputs: ...} or {error: ...}.
func (p *parser) reply(n *yaml.Node, path string) *Reply {
	r := &Reply{Pos: pos(n)}
	fs := p.fields(n, path, replyKeys)
	if len(fs) == 2 {
		p.errorf(n, path, "", "a reply gives outputs or an error, not both")
	}
	for _, f := range fs {
		switch f.key {
		case "outputs":
			r.Outputs = p.object(f.v, f.path)
		case "error":
			r.Error = p.mockError(f.v, f.path)
		}
	}
	return r
}

// mockError reads an error: a message, or {message, code, retryable}.
func (p *parser) mockError(n *yaml.Node, path string) *MockError {
	e := &MockError{}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		e.Message = n.Value
	} else {
		for _, f := range p.fields(n, path, errorKeys) {
			switch f.key {
			case "message":
				e.Message = p.str(f.v, f.path)
			case "code":
				e.Code = p.str(f.v, f.path)
			case "retryable":
				e.Retryable = p.boolean(f.v, f.path)
			}
		}
	}
	if strings.TrimSpace(e.Message) == "" && (n.Kind == yaml.MappingNode || n.Kind == yaml.ScalarNode) {
		p.errorf(n, path, "write error: {message: TEXT, code: CODE, retryable: BOOL} or error: TEXT", "an error needs a message")
	}
	return e
}

// approval reads approve, deny, or {approve, by, comment}.
func (p *parser) approval(n *yaml.Node, path string) *Approval {
	a := &Approval{}
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "approve":
			a.Approve = true
		case "deny":
		case "expire":
			a.Expire = true
		default:
			p.errorf(n, path, "write approve, deny, expire, or {approve: BOOL, by: NAME, comment: TEXT}", "unknown decision %s", kind(n))
		}
		return a
	}
	set := false
	for _, f := range p.fields(n, path, decideKeys) {
		switch f.key {
		case "approve":
			set = true
			a.Approve = p.boolean(f.v, f.path)
		case "by":
			a.By = p.str(f.v, f.path)
		case "comment":
			a.Comment = p.str(f.v, f.path)
		}
	}
	if !set && n.Kind == yaml.MappingNode {
		p.errorf(n, path, "", "approve is required: true or false")
	}
	return a
}
