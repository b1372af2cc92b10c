package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A policy's exceptions are memberships the access review accepts although
// the roster and the roles would revoke them, each until a date, with who
// accepted it and why:
//
//	exceptions:
//	  - backend: github
//	    group: admins
//	    account: ben
//	    reason: break-glass owner of the on-call rota (SEC-12)
//	    approved_by: omar
//	    expires: 2027-03-31
//
// An exception is valid up to and including its expiry date (UTC); after
// it, the review decides revoke and says the exception expired.

// Exception is an accepted exception of the policy.
type Exception struct {
	Backend    string `json:"backend"`
	Group      string `json:"group"`
	Account    string `json:"account"`
	Reason     string `json:"reason"`
	ApprovedBy string `json:"approved_by"`
	Expires    string `json:"expires" desc:"the last day it holds, YYYY-MM-DD (UTC)"`
	expires    time.Time
}

var exceptionKeys = []string{"backend", "group", "account", "reason", "approved_by", "expires"}

// parseExceptions reads the policy's exceptions list.
func parseExceptions(p *problems, n *yaml.Node, backends []string) []Exception {
	if n.Kind != yaml.SequenceNode {
		p.add(n, "exceptions must be a list of exceptions, each with %s, not a %s", strings.Join(exceptionKeys, ", "), kind(n))
		return nil
	}
	var out []Exception
	seen := map[string]int{}
	for i, item := range n.Content {
		item = resolve(item)
		where := fmt.Sprintf("exceptions[%d]", i)
		if item.Kind != yaml.MappingNode {
			p.add(item, "%s must be a mapping with %s, not a %s", where, strings.Join(exceptionKeys, ", "), kind(item))
			continue
		}
		keys := mapping(p, item, where, exceptionKeys)
		field := func(k string) string {
			v := keys[k]
			if v == nil || v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" || v.Tag == "!!null" {
				at := item
				if v != nil {
					at = v
				}
				p.add(at, "%s: missing %s: an exception says %s", where, k, strings.Join(exceptionKeys, ", "))
				return ""
			}
			return strings.TrimSpace(v.Value)
		}
		e := Exception{Backend: field("backend"), Group: field("group"), Account: field("account"), Reason: field("reason"),
			ApprovedBy: field("approved_by"), Expires: field("expires")}
		if e.Backend != "" && !slices.Contains(backends, e.Backend) {
			p.add(keys["backend"], "%s: backend %q is not configured;%s configured backends: %s", where, e.Backend, suggest(e.Backend, backends), strings.Join(backends, ", "))
		}
		if e.Expires != "" {
			t, err := time.Parse(time.DateOnly, e.Expires)
			if err != nil {
				p.add(keys["expires"], "%s.expires must be a date, YYYY-MM-DD, got %q", where, e.Expires)
			}
			e.expires = t
		}
		key := strings.ToLower(e.Backend + "\x00" + e.Group + "\x00" + e.Account)
		if j, dup := seen[key]; dup && e.Account != "" {
			p.add(item, "%s: %s in %s on %s already has exceptions[%d]", where, e.Account, e.Group, e.Backend, j)
			continue
		}
		seen[key] = i
		out = append(out, e)
	}
	return out
}

// exception finds the exception of a membership, nil when none.
func (p *policy) exception(backend, group, account string) *Exception {
	for i, e := range p.exceptions {
		if e.Backend == backend && e.Group == group && strings.EqualFold(e.Account, account) {
			return &p.exceptions[i]
		}
	}
	return nil
}

// holds says whether the exception still holds on day asOf: up to and
// including its expiry date.
func (e *Exception) holds(asOf time.Time) bool {
	return !asOf.UTC().Truncate(24 * time.Hour).After(e.expires)
}
