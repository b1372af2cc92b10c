package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/schema"
	"gopkg.in/yaml.v3"
)

// Load reads the file at path. A missing file gives the default when
// optional is set (the default path), and is an error otherwise (a path the
// user named).
//
// Every problem of the file is a schema.Diagnostic, as a runbook's are:
// FILE:LINE:COL: KEY.PATH: message, with a did-you-mean for an unknown key.
// The error is then a schema.Diagnostics holding them all.
func Load(path string, optional bool) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && optional {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if len(src) > MaxSize {
		return nil, fmt.Errorf("config: %s is larger than 1 MiB", path)
	}
	return Parse(path, src)
}

// Parse reads the content of the configuration file path; relative paths
// in it are relative to path's folder.
func Parse(path string, src []byte) (*Config, error) {
	cfg := Default()
	cfg.File = path
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	l := &loader{file: path, lines: strings.Split(text, "\n"), cfg: cfg}
	cfg.lines = l.lines
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, schema.Diagnostics{schema.SyntaxError(path, src, err)}
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		l.errorf(&more, "", "", "several YAML documents: steward.yaml holds one")
	}
	if len(doc.Content) > 0 {
		l.root(resolve(doc.Content[0]))
	}
	if len(l.diags) > 0 {
		l.diags.Sort()
		return nil, l.diags
	}
	dir := filepath.Dir(path)
	for i, p := range cfg.Runbooks {
		if !filepath.IsAbs(p) {
			cfg.Runbooks[i] = filepath.Join(dir, p)
		}
	}
	for i, p := range cfg.Plugins.Folders {
		if !filepath.IsAbs(p) {
			cfg.Plugins.Folders[i] = filepath.Join(dir, p)
		}
	}
	if p := cfg.Plugins.Lock; p != "" && !filepath.IsAbs(p) {
		cfg.Plugins.Lock = filepath.Join(dir, p)
	}
	if k := cfg.Audit.CheckpointKey; k != "" && !filepath.IsAbs(k) {
		cfg.Audit.CheckpointKey = filepath.Join(dir, k)
	}
	return cfg, nil
}

// The keys of each section, for unknown keys and their did-you-mean.
var (
	rootKeys      = []string{"runbooks", "approvals", "plugins", "audit", "runs", "server", "webhooks", "schedules", "store", "mcp", "sources"}
	approvalsKeys = []string{"groups", "allow_self_approval"}
	pluginsKeys   = []string{"folders", "lock", "start_timeout", "settings"}
	auditKeys     = []string{"checkpoint_key"}
	runsKeys      = []string{"max_sub_runs"}
)

// loader walks the YAML tree of steward.yaml, collecting every problem.
type loader struct {
	file  string
	lines []string
	cfg   *Config
	diags schema.Diagnostics
}

func (l *loader) errorf(n *yaml.Node, path, hint, format string, args ...any) {
	l.diags = append(l.diags, diag(l.file, l.lines, n, path, hint, fmt.Sprintf(format, args...)))
}

func diag(file string, lines []string, n *yaml.Node, path, hint, msg string) schema.Diagnostic {
	d := schema.Diagnostic{File: file, Line: n.Line, Column: n.Column, Path: path, Message: msg, Hint: hint}
	if n.Line >= 1 && n.Line <= len(lines) {
		d.Source = lines[n.Line-1]
	}
	return d
}

// pair is one key of a mapping.
type pair struct {
	key  string
	k, v *yaml.Node
	path string
}

// mapping returns the keys of a mapping node in order, reporting a node
// that is not a mapping (null is an empty one), duplicate keys and keys
// not in known.
func (l *loader) mapping(n *yaml.Node, path string, known []string) []pair {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "", "expected a mapping, got %s", kindName(n))
		return nil
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		key := k.Value
		kp := sub(path, key)
		switch {
		case k.Kind != yaml.ScalarNode:
			l.errorf(k, path, "", "keys must be text")
			continue
		case seen[key]:
			l.errorf(k, kp, "remove one of them", "key %q is given twice", key)
			continue
		case known != nil && !contains(known, key):
			hint := didYouMean(key, known)
			if hint == "" {
				hint = "known keys: " + strings.Join(known, ", ")
			}
			l.errorf(k, kp, hint, "unknown key %q", key)
			continue
		}
		seen[key] = true
		out = append(out, pair{key: key, k: k, v: v, path: kp})
	}
	return out
}

func (l *loader) root(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // empty file: the defaults
	}
	for _, p := range l.mapping(n, "", rootKeys) {
		switch p.key {
		case "runbooks":
			l.cfg.Runbooks = l.paths(p.v, p.path, "runbooks: [runbooks, /srv/shared-runbooks]")
			l.runbookFolders(p.v, p.path) // sources.go: a URL is not a folder
			if l.cfg.Runbooks == nil {
				l.cfg.Runbooks = []string{}
			}
		case "approvals":
			l.approvals(p.v, p.path)
		case "plugins":
			l.plugins(p.v, p.path)
		case "audit":
			for _, q := range l.mapping(p.v, p.path, auditKeys) {
				l.cfg.Audit.CheckpointKey = l.str(q.v, q.path, false)
			}
		case "store": // store.go
			l.store(p.v, p.path)
		case "runs":
			for _, q := range l.mapping(p.v, p.path, runsKeys) {
				var n int
				if !l.decode(q.v, q.path, "!!int", "an integer", &n) {
					continue
				}
				if n < 0 {
					l.errorf(q.v, q.path, "0 means the default, 100", "runs.max_sub_runs must be positive, got %d", n)
					continue
				}
				l.cfg.Runs.MaxSubRuns = n
			}
		case "server": // server.go
			l.server(p.v, p.path)
		case "webhooks": // webhooks.go
			l.webhooks(p.v, p.path)
		case "schedules": // schedules.go
			l.schedules(p.v, p.path)
		case "mcp": // mcp.go
			l.mcp(p.v, p.path)
		case "sources": // sources.go
			l.sources(p.v, p.path)
		}
	}
}

// groupName is what an approvals group may be called: no blank, no colon
// (an approver group:NAME names it).
var groupName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^\s:]+$`) })

func (l *loader) approvals(n *yaml.Node, path string) {
	for _, p := range l.mapping(n, path, approvalsKeys) {
		switch p.key {
		case "groups":
			groups := map[string][]string{}
			for _, g := range l.mapping(p.v, p.path, nil) {
				if !groupName().MatchString(g.key) {
					l.errorf(g.k, g.path, "a group name has no blank and no colon: runbooks name it group:NAME", "invalid group name %q", g.key)
					continue
				}
				members := l.strList(g.v, g.path, "write a list of people: "+g.key+": [ana, bruno]")
				if len(members) == 0 {
					if g.v.Kind == yaml.SequenceNode || g.v.ShortTag() == "!!null" {
						l.errorf(g.v, g.path, "write a list of people: "+g.key+": [ana, bruno]", "approvals.groups.%s must list at least one member", g.key)
					}
					continue
				}
				groups[g.key] = members
			}
			l.cfg.Approvals.Groups = groups
		case "allow_self_approval":
			l.decode(p.v, p.path, "!!bool", "true or false", &l.cfg.Approvals.AllowSelfApproval)
		}
	}
}

func (l *loader) plugins(n *yaml.Node, path string) {
	for _, p := range l.mapping(n, path, pluginsKeys) {
		switch p.key {
		case "folders":
			f := l.paths(p.v, p.path, "folders: [/opt/steward/plugins]")
			if f == nil {
				f = []string{} // given and empty: no plugin folder at all
			}
			l.cfg.Plugins.Folders = f
		case "lock":
			l.cfg.Plugins.Lock = l.str(p.v, p.path, false)
		case "start_timeout":
			s := l.str(p.v, p.path, true)
			if s == "" {
				continue
			}
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				l.errorf(p.v, p.path, "write a duration such as 10s or 1m", "invalid duration %q", s)
			case d < 0:
				l.errorf(p.v, p.path, "", "plugins.start_timeout must be positive, got %s", d)
			default:
				l.cfg.Plugins.StartTimeout = d
			}
		case "settings":
			l.settings(p.v, p.path)
		}
	}
}

func (l *loader) settings(n *yaml.Node, path string) {
	l.cfg.Plugins.Settings = map[string]map[string]any{}
	l.cfg.settings = map[string]*yaml.Node{}
	l.cfg.settingsKeys = map[string]*yaml.Node{}
	for _, p := range l.mapping(n, path, nil) {
		if !pluginName().MatchString(p.key) {
			l.errorf(p.k, p.path, "a plugin name is lower-case letters, digits, _ and -, starting with a letter",
				"invalid plugin name %q", p.key)
			continue
		}
		l.cfg.settingsKeys[p.key] = p.k
		if p.v.ShortTag() == "!!null" {
			continue
		}
		if p.v.Kind != yaml.MappingNode {
			l.errorf(p.v, p.path, "", "expected a mapping of the plugin's settings, got %s", kindName(p.v))
			continue
		}
		var m map[string]any
		if err := p.v.Decode(&m); err != nil {
			l.errorf(p.v, p.path, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		before := len(l.diags)
		l.secretRefs(p.v, p.path)
		if len(l.diags) > before {
			continue
		}
		l.cfg.Plugins.Settings[p.key] = m
		l.cfg.settings[p.key] = p.v
	}
}

// secretRefs checks that every mapping with a secret key, at any depth,
// is a well-formed reference: {secret: NAME} and nothing else.
func (l *loader) secretRefs(n *yaml.Node, path string) {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		if ref, ok := secretRef(n); ok {
			if ref == nil || !secretName().MatchString(ref.Value) || len(n.Content) != 2 {
				l.errorf(n, path, "NAME is letters, digits and _; the value is read from STEWARD_SECRET_NAME", "write {secret: NAME}")
			}
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.secretRefs(n.Content[i+1], sub(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			l.secretRefs(c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// secretRef says whether a mapping has a secret key, and returns its value
// when it is a plain string.
func secretRef(n *yaml.Node) (*yaml.Node, bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "secret" {
			v := resolve(n.Content[i+1])
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
				return nil, true
			}
			return v, true
		}
	}
	return nil, false
}

var secretName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// paths reads a list of non-empty paths.
func (l *loader) paths(n *yaml.Node, path, example string) []string {
	return l.strList(n, path, "write a list: "+example)
}

// strList reads a list of non-empty strings.
func (l *loader) strList(n *yaml.Node, path, hint string) []string {
	if n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, hint, "expected a list, got %s", kindName(n))
		return nil
	}
	var out []string
	for i, c := range n.Content {
		c = resolve(c)
		ip := fmt.Sprintf("%s[%d]", path, i)
		if c.Kind != yaml.ScalarNode || c.ShortTag() == "!!null" || c.ShortTag() == "!!map" {
			l.errorf(c, ip, "", "expected text, got %s", kindName(c))
			continue
		}
		if strings.TrimSpace(c.Value) == "" {
			l.errorf(c, ip, "", "%s is empty", ip)
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

// str reads a string; a number or boolean is taken as written only when
// anyScalar is set (a duration such as 10s is a string anyway).
func (l *loader) str(n *yaml.Node, path string, anyScalar bool) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || !anyScalar && n.ShortTag() != "!!str" {
		l.errorf(n, path, "", "expected text, got %s", kindName(n))
		return ""
	}
	return n.Value
}

// decode reads a scalar of the YAML tag (what) into v.
func (l *loader) decode(n *yaml.Node, path, tag, what string, v any) bool {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != tag || n.Decode(v) != nil {
		hint := ""
		if quoted(n) && tag != "!!str" {
			hint = "remove the quotes"
		}
		l.errorf(n, path, hint, "expected %s, got %s", what, kindName(n))
		return false
	}
	return true
}

func quoted(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// kindName names what a node holds for a message.
func kindName(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!bool":
		return "a boolean"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	}
	return fmt.Sprintf("the text %q", n.Value)
}

func sub(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func didYouMean(word string, candidates []string) string {
	if s := schema.Suggest(word, candidates); s != "" {
		return `did you mean "` + s + `"?`
	}
	return ""
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
