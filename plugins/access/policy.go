package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/plugins/sdk"
	"github.com/stewardhq/steward/schema/didyoumean"
	"gopkg.in/yaml.v3"
)

// A policy file says which roles there are, what each grants on which
// backend, who approves it, and which groups are privileged (the ones
// access reviews check):
//
//	version: 1
//	roles:
//	  engineer:
//	    description: Product engineers
//	    owner: eng-leads
//	    grants:
//	      directory: [engineering, vpn]
//	      github: [backend]
//	privileged:
//	  directory: [prod-admins, payments-admins]
//	  github: [admins, sre]
//
// It is read strictly: an unknown key, a missing owner, an empty grants or
// a backend that is not configured is an error at FILE:LINE:COL.

// maxPolicy is the largest policy or roster text read.
const maxPolicy = 1 << 20

// policy is a policy file, checked.
type policy struct {
	file       string
	roles      map[string]*policyRole
	names      []string // role names, sorted
	privileged []PrivilegedGroup
	exceptions []Exception // accepted exceptions, in the file's order
}

type policyRole struct {
	name, description, owner string
	grants                   map[string][]string // backend -> groups
}

// allows says whether the role grants group on backend.
func (r *policyRole) allows(backend, group string) bool {
	return slices.Contains(r.grants[backend], group)
}

// problems collects a file's errors, each at FILE:LINE:COL.
type problems struct {
	file string
	list []string
}

func (p *problems) add(n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	p.list = append(p.list, fmt.Sprintf("%s:%d:%d: %s", p.file, line, col, fmt.Sprintf(format, args...)))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return sdk.Error(codeInvalidPolicy, "%s", strings.Join(p.list, "\n"))
}

var yamlLine = lazyRegexp(`^yaml: line (\d+): (.*)$`)

// parsePolicy reads a policy file's text against the configured backends.
// Its error is invalid_policy, with every problem found, one per line.
func parsePolicy(text, file string, backends []string) (*policy, error) {
	p := &problems{file: file}
	if len(text) > maxPolicy {
		p.add(nil, "the policy is %d bytes: at most %d are read", len(text), maxPolicy)
		return nil, p.err()
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		line, col, msg := syntaxError(text, err)
		p.add(&yaml.Node{Line: line, Column: col}, "invalid YAML: %s", msg)
		return nil, p.err()
	}
	if len(doc.Content) == 0 {
		p.add(nil, "the policy is empty: start it with version: 1, then roles:")
		return nil, p.err()
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		p.add(root, "a policy is a mapping with version, roles and privileged, not a %s", kind(root))
		return nil, p.err()
	}
	pol := &policy{file: file, roles: map[string]*policyRole{}, privileged: []PrivilegedGroup{}}
	keys := mapping(p, root, "", []string{"version", "roles", "privileged", "exceptions"})
	switch v := keys["version"]; {
	case v == nil:
		p.add(root, "missing version: start the policy with version: 1")
	case v.Kind != yaml.ScalarNode || v.Value != "1":
		p.add(v, "version must be 1, got %s", show(v))
	}
	roles := keys["roles"]
	switch {
	case roles == nil:
		p.add(root, "missing roles: list the roles, each with an owner and its grants")
	case roles.Kind != yaml.MappingNode:
		p.add(roles, "roles must be a mapping of role names to roles, not a %s", kind(roles))
	case len(roles.Content) == 0:
		p.add(roles, "roles is empty: list at least one role, with an owner and its grants")
	default:
		for i := 0; i+1 < len(roles.Content); i += 2 {
			name, body := roles.Content[i], resolve(roles.Content[i+1])
			if r := parseRole(p, name, body, backends); r != nil {
				pol.roles[r.name] = r
			}
		}
	}
	if priv := keys["privileged"]; priv != nil {
		for backend, groups := range groupLists(p, priv, "privileged", backends) {
			for _, g := range groups {
				pol.privileged = append(pol.privileged, PrivilegedGroup{Backend: backend, Group: g})
			}
		}
		slices.SortFunc(pol.privileged, func(a, b PrivilegedGroup) int {
			return strings.Compare(a.Backend+"\x00"+a.Group, b.Backend+"\x00"+b.Group)
		})
	}
	if ex := keys["exceptions"]; ex != nil {
		pol.exceptions = parseExceptions(p, ex, backends)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	for name := range pol.roles {
		pol.names = append(pol.names, name)
	}
	slices.Sort(pol.names)
	return pol, nil
}

// syntaxError places a yaml.v3 syntax error. yaml.v3 often names the line
// before the mistake, or none: the shortest prefix of the text that fails
// the same way ends on the right line (as package schema does).
func syntaxError(text string, err error) (line, col int, msg string) {
	line, msg = 1, strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	lines := strings.SplitAfter(text, "\n")
	fails := func(n int) bool {
		var node yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:n], "")), &node)
		return err != nil && strings.HasSuffix(err.Error(), msg)
	}
	if fails(len(lines)) {
		lo, hi := 1, len(lines)
		for lo < hi {
			mid := (lo + hi) / 2
			if fails(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		line = lo
	}
	// An unexpected end is at the last line that says something.
	for line > 1 && (line > len(lines) || strings.TrimSpace(lines[line-1]) == "") {
		line--
	}
	col = 1
	if line <= len(lines) {
		col += len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " "))
	}
	return line, col, msg
}

func parseRole(p *problems, key, body *yaml.Node, backends []string) *policyRole {
	name := key.Value
	where := "roles." + name
	if key.Kind != yaml.ScalarNode || name == "" {
		p.add(key, "a role's name must be a non-empty string")
		return nil
	}
	if body.Kind != yaml.MappingNode {
		p.add(body, "%s must be a mapping with owner, grants and description, not a %s", where, kind(body))
		return nil
	}
	r := &policyRole{name: name, grants: map[string][]string{}}
	keys := mapping(p, body, where, []string{"description", "owner", "grants"})
	if d := keys["description"]; d != nil {
		if d.Kind != yaml.ScalarNode {
			p.add(d, "%s.description must be a string", where)
		}
		r.description = d.Value
	}
	switch o := keys["owner"]; {
	case o == nil || o.Kind == yaml.ScalarNode && strings.TrimSpace(o.Value) == "" && o.Tag != "!!str":
		p.add(key, "%s: missing owner: say who approves this role's grants (a person or an approvals group of steward.yaml)", where)
	case o.Kind != yaml.ScalarNode || strings.TrimSpace(o.Value) == "":
		p.add(o, "%s.owner must be a person or an approvals group, not %s", where, show(o))
	default:
		r.owner = o.Value
	}
	g := keys["grants"]
	if g == nil || g.Kind == yaml.MappingNode && len(g.Content) == 0 || g.Kind == yaml.ScalarNode && g.Tag == "!!null" {
		at := key
		if g != nil {
			at = g
		}
		p.add(at, "%s.grants is empty: list the groups the role grants, by backend (directory: [engineering])", where)
		return r
	}
	r.grants = groupLists(p, g, where+".grants", backends)
	return r
}

// groupLists reads a mapping of backends to lists of groups.
func groupLists(p *problems, n *yaml.Node, where string, backends []string) map[string][]string {
	out := map[string][]string{}
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.add(n, "%s must be a mapping of backends to lists of groups (directory: [vpn]), not a %s", where, kind(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		backend := k.Value
		if !slices.Contains(backends, backend) {
			hint := ""
			if s := didyoumean.Suggest(backend, backends); s != "" {
				hint = fmt.Sprintf(" did you mean %q?", s)
			}
			p.add(k, "%s: backend %q is not configured;%s configured backends: %s", where, backend, hint, strings.Join(backends, ", "))
			continue
		}
		if v.Kind != yaml.SequenceNode {
			p.add(v, "%s.%s must be a list of groups ([vpn, engineering]), not a %s", where, backend, kind(v))
			continue
		}
		if len(v.Content) == 0 {
			p.add(v, "%s.%s is empty: list at least one group, or remove %s", where, backend, backend)
			continue
		}
		var groups []string
		for _, item := range v.Content {
			item = resolve(item)
			switch {
			case item.Kind != yaml.ScalarNode || strings.TrimSpace(item.Value) == "":
				p.add(item, "%s.%s: a group is a name, not %s", where, backend, show(item))
			case slices.Contains(groups, item.Value):
				p.add(item, "%s.%s: group %s is listed twice", where, backend, item.Value)
			default:
				groups = append(groups, item.Value)
			}
		}
		out[backend] = groups
	}
	return out
}

// mapping returns a mapping's values by key, reporting unknown and
// duplicate keys.
func mapping(p *problems, n *yaml.Node, where string, known []string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	prefix := ""
	if where != "" {
		prefix = where + ": "
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if !slices.Contains(known, k.Value) {
			hint := ""
			if s := didyoumean.Suggest(k.Value, known); s != "" {
				hint = fmt.Sprintf(" did you mean %q?", s)
			}
			p.add(k, "%sunknown key %q;%s keys: %s", prefix, k.Value, hint, strings.Join(known, ", "))
			continue
		}
		out[k.Value] = v
	}
	return out
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "string"
	}
	return "value"
}

func show(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "a " + kind(n)
}

// ReadPolicyInput is the with of access.read_policy.
type ReadPolicyInput struct {
	Policy   string            `json:"policy" desc:"the policy file's text: core.read_file's text output"`
	File     string            `json:"file" desc:"the policy file's name, for messages"`
	Role     string            `json:"role,omitempty" desc:"a role: what it grants, to user"`
	User     string            `json:"user,omitempty" desc:"the person the role's grants are for; required with role"`
	Accounts map[string]string `json:"accounts,omitempty" desc:"the person's account on some backends, by backend name, where it is not user"`
}

// PrivilegedGroup is a group access reviews check.
type PrivilegedGroup struct {
	Backend string `json:"backend"`
	Group   string `json:"group"`
}

// RoleGrant is a membership a role grants a person.
type RoleGrant struct {
	Backend string `json:"backend"`
	Group   string `json:"group"`
	User    string `json:"user" desc:"the person's account on that backend"`
}

// Role is a role of the policy and what it grants a person.
type Role struct {
	Name        string      `json:"name"`
	Owner       string      `json:"owner" desc:"who approves the role's grants: a person or an approvals group"`
	Description string      `json:"description"`
	Grants      []RoleGrant `json:"grants" desc:"sorted by backend, then group"`
}

// ReadPolicyOutput is what access.read_policy returns.
type ReadPolicyOutput struct {
	File       string            `json:"file"`
	Roles      []string          `json:"roles" desc:"the role names, sorted"`
	Privileged []PrivilegedGroup `json:"privileged" desc:"sorted by backend, then group"`
	Role       *Role             `json:"role" desc:"the role asked for, or null"`
}

// readPolicy is access.read_policy: read-only, and the same on every
// backend (it reads only the text it is given).
func (a *access) readPolicy(ctx context.Context, call *sdk.Call, in ReadPolicyInput) (ReadPolicyOutput, error) {
	pol, err := parsePolicy(in.Policy, in.File, a.names)
	if err != nil {
		return ReadPolicyOutput{}, err
	}
	call.Infof("%s: %d roles, %d privileged groups", in.File, len(pol.names), len(pol.privileged))
	out := ReadPolicyOutput{File: in.File, Roles: pol.names, Privileged: pol.privileged}
	if in.Role == "" {
		return out, nil
	}
	if in.User == "" {
		return ReadPolicyOutput{}, sdk.Error(codeInvalidRequest, "with.user is required with role: whose accounts should role %s's grants name?", in.Role)
	}
	if err := checkName("user", in.User); err != nil {
		return ReadPolicyOutput{}, err
	}
	r, err := pol.role(in.Role)
	if err != nil {
		return ReadPolicyOutput{}, err
	}
	role := &Role{Name: r.name, Owner: r.owner, Description: r.description, Grants: []RoleGrant{}}
	for _, backend := range slices.Sorted(maps.Keys(r.grants)) {
		user := in.User
		if v := in.Accounts[backend]; v != "" {
			user = v
		}
		for _, g := range slices.Sorted(slices.Values(r.grants[backend])) {
			role.Grants = append(role.Grants, RoleGrant{Backend: backend, Group: g, User: user})
		}
	}
	call.Infof("role %s (owner %s) grants %s %d groups", r.name, r.owner, in.User, len(role.Grants))
	out.Role = role
	return out, nil
}

// role finds a role, or says which there are.
func (p *policy) role(name string) (*policyRole, error) {
	if r, ok := p.roles[name]; ok {
		return r, nil
	}
	hint := ""
	if s := didyoumean.Suggest(name, p.names); s != "" {
		hint = fmt.Sprintf(" did you mean %q?", s)
	}
	return nil, sdk.Error(codeUnknownRole, "role %q is not in %s;%s roles: %s", name, p.file, hint, strings.Join(p.names, ", "))
}
