package config

import (
	"fmt"
	"net/url"
	pathpkg "path"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine/auth"
	"gopkg.in/yaml.v3"
)

// Server configures steward serve: its public address, the roles granted
// to subjects, and how approvers are told that a run waits for them.
//
//	server:
//	  url: https://steward.example.com   # in notifications: URL/runs/RUN_ID
//	  grants:                            # beside each token's own grant
//	    - {subject: ana, role: approver, runbooks: "card-*"}
//	    - {subject: ops-bot, role: operator}
//	  notify:
//	    action: notify.email             # or notify.webhook (Slack, Teams, Discord)
//	    with: {to: [payments-leads@example.com]}
//	    remind_before: 1h                # a reminder this long before the approval times out
//	  oidc:                              # people log in to the web console: see OIDC
//	    issuer: https://login.example.com
//	    client_id: steward-console
//	    client_secret: {secret: OIDC_CLIENT_SECRET}
//	    redirect_url: https://steward.example.com/auth/callback
//	  sources_hook_secret: {secret: GITHUB_HOOK_SECRET}  # POST /hooks/github-sources (docs/sources.md)
//	  session_key: {secret: CONSOLE_SESSION_KEY}          # the console's sessions outlive a restart, shared by replicas
type Server struct {
	// URL is the server's public address, without a trailing slash;
	// notifications link to URL/runs/RUN_ID. Empty: they do not link.
	URL string `yaml:"url"`
	// Grants give roles to subjects, whatever token they present.
	Grants []SubjectGrant `yaml:"grants"`
	// Notify, when set, tells approvers that a run waits for them.
	Notify *Notify `yaml:"notify"`
	// OIDC, when set, logs people in to the web console (oidc.go).
	OIDC *OIDC `yaml:"oidc"`
	// SourcesHookSecret is the NAME of the secret (STEWARD_SECRET_NAME)
	// that signs GitHub push webhooks to POST /hooks/github-sources,
	// which sync the Git and GitHub sources; empty: not mounted.
	SourcesHookSecret string `yaml:"sources_hook_secret"`
	// SessionKey is the NAME of the secret (STEWARD_SECRET_NAME) that
	// signs the web console's session cookies: replicas given the same
	// one share sessions, which then outlive a restart. Empty: a random
	// key per process.
	SessionKey string `yaml:"session_key"`
}

// SubjectGrant is a role granted to a subject on the runbooks matching a
// glob.
type SubjectGrant struct {
	Subject string
	auth.Grant
}

// Notify says how approvers are told that a run waits for them: one
// action of the notify plugin.
type Notify struct {
	// Action is notify.email or notify.webhook.
	Action string
	// With is the action's input beside what Steward writes (subject and
	// body, or text, title and fields): email's to, cc and reply_to.
	With map[string]any
	// RemindBefore is how long before an approval times out a reminder is
	// sent; 0: no reminder.
	RemindBefore time.Duration
}

// NotifyActions are the actions server.notify.action may name, with the
// keys of with each takes.
var NotifyActions = map[string][]string{
	"notify.email":   {"to", "cc", "reply_to"},
	"notify.webhook": {},
}

var (
	serverKeys = []string{"url", "grants", "notify", "oidc", "sources_hook_secret", "session_key"}
	grantKeys  = []string{"subject", "role", "runbooks"}
	notifyKeys = []string{"action", "with", "remind_before"}
)

// SubjectGrants returns the grants of subject.
func (s Server) SubjectGrants(subject string) []auth.Grant {
	var out []auth.Grant
	for _, g := range s.Grants {
		if g.Subject == subject {
			out = append(out, g.Grant)
		}
	}
	return out
}

func (l *loader) server(n *yaml.Node, path string) {
	for _, p := range l.mapping(n, path, serverKeys) {
		switch p.key {
		case "url":
			s := l.str(p.v, p.path, false)
			if s == "" {
				continue
			}
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				l.errorf(p.v, p.path, "write the address people open, such as https://steward.example.com", "invalid URL %q", s)
				continue
			}
			l.cfg.Server.URL = strings.TrimRight(s, "/")
		case "grants":
			l.grants(p.v, p.path)
		case "notify":
			l.notify(p.v, p.path)
		case "oidc":
			l.oidc(p.v, p.path)
		case "sources_hook_secret":
			if name, ok := l.secretOnly(p, "a webhook's secret"); ok {
				l.cfg.Server.SourcesHookSecret = name
			}
		case "session_key":
			if name, ok := l.secretOnly(p, "the console's session key"); ok {
				l.cfg.Server.SessionKey = name
			}
		}
	}
}

func (l *loader) grants(n *yaml.Node, path string) {
	if n.ShortTag() == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "write a list: grants: [{subject: ana, role: approver}]", "expected a list, got %s", kindName(n))
		return
	}
	for i, c := range n.Content {
		c = resolve(c)
		ip := fmt.Sprintf("%s[%d]", path, i)
		var g SubjectGrant
		role := false
		for _, p := range l.mapping(c, ip, grantKeys) {
			switch p.key {
			case "subject":
				g.Subject = strings.TrimSpace(l.str(p.v, p.path, false))
				if g.Subject == "" && p.v.Kind == yaml.ScalarNode && p.v.ShortTag() == "!!str" {
					l.errorf(p.v, p.path, "", "%s is empty", p.path)
				}
			case "role":
				s := l.str(p.v, p.path, false)
				if s == "" {
					continue
				}
				r, err := auth.ParseRole(s)
				if err != nil {
					l.errorf(p.v, p.path, didYouMean(s, auth.Roles()), "unknown role %q: one of %s", s, strings.Join(auth.Roles(), ", "))
					continue
				}
				g.Role, role = r, true
			case "runbooks":
				g.Runbooks = l.str(p.v, p.path, false)
				if _, err := pathpkg.Match(g.Runbooks, ""); err != nil {
					l.errorf(p.v, p.path, "a glob such as card-* or *", "invalid glob %q", g.Runbooks)
				}
			}
		}
		if c.Kind != yaml.MappingNode {
			continue
		}
		if g.Subject == "" && !l.given(c, "subject") || !role && !l.given(c, "role") {
			l.errorf(c, ip, "write {subject: ana, role: approver, runbooks: \"card-*\"}", "a grant needs a subject and a role")
			continue
		}
		if g.Subject == "" || !role {
			continue // reported at the key
		}
		l.cfg.Server.Grants = append(l.cfg.Server.Grants, g)
	}
}

func (l *loader) notify(n *yaml.Node, path string) {
	if n.ShortTag() == "!!null" {
		return
	}
	nt := &Notify{}
	var withNode *yaml.Node
	ok := true
	pairs := l.mapping(n, path, notifyKeys)
	if n.Kind != yaml.MappingNode {
		return
	}
	for _, p := range pairs {
		switch p.key {
		case "action":
			nt.Action = l.str(p.v, p.path, false)
			if _, known := NotifyActions[nt.Action]; !known && nt.Action != "" {
				l.errorf(p.v, p.path, didYouMean(nt.Action, sortedKeys(NotifyActions)), "server.notify.action must be notify.email or notify.webhook, got %q", nt.Action)
				ok = false
			}
		case "with":
			withNode = p.v
		case "remind_before":
			s := l.str(p.v, p.path, true)
			d, err := time.ParseDuration(s)
			switch {
			case s == "":
			case err != nil:
				l.errorf(p.v, p.path, "write a duration such as 30m or 1h", "invalid duration %q", s)
			case d < 0:
				l.errorf(p.v, p.path, "", "server.notify.remind_before must be positive, got %s", d)
			default:
				nt.RemindBefore = d
			}
		}
	}
	if nt.Action == "" {
		l.errorf(n, path, "write action: notify.email or action: notify.webhook", "server.notify needs an action")
		return
	}
	if !ok {
		return
	}
	keys := NotifyActions[nt.Action]
	if withNode != nil {
		wp := path + ".with"
		for _, p := range l.mapping(withNode, wp, keys) {
			var v any
			if err := p.v.Decode(&v); err != nil {
				l.errorf(p.v, p.path, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
				continue
			}
			if nt.With == nil {
				nt.With = map[string]any{}
			}
			nt.With[p.key] = v
		}
	}
	if nt.Action == "notify.email" && nt.With["to"] == nil {
		at := n
		if withNode != nil {
			at = withNode
		}
		l.errorf(at, path+".with", "write with: {to: [approvers@example.com]}", "notify.email needs with.to: who receives the approval requests")
		return
	}
	l.cfg.Server.Notify = nt
}

// secretOnly reads {secret: NAME}, the only way p may name what, and
// reports anything else.
func (l *loader) secretOnly(p pair, what string) (string, bool) {
	ref, ok := secretRef(resolve(p.v))
	if p.v.Kind != yaml.MappingNode || !ok || ref == nil || !secretName().MatchString(ref.Value) || len(p.v.Content) != 2 {
		l.errorf(p.v, p.path, "NAME is letters, digits and _; the value is read from STEWARD_SECRET_NAME", "write {secret: NAME}: %s is never written in steward.yaml", what)
		return "", false
	}
	return ref.Value, true
}
