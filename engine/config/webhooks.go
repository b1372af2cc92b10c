package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/stewardhq/steward/schema"
	"gopkg.in/yaml.v3"
)

// Webhook is one entry of webhooks: POST /hooks/NAME starts a runbook
// from an external event.
//
//	webhooks:
//	  - name: zendesk-card
//	    runbook: card-payment-failure
//	    verify: zendesk                       # github | zendesk | alertmanager | grafana | generic
//	    secret: {secret: ZENDESK_HOOK_SECRET} # from STEWARD_SECRET_ZENDESK_HOOK_SECRET
//	    inputs:
//	      payment_id: '${{ payload.ticket.payment_id }}'
//	    dedupe: '${{ payload.ticket.id }}-${{ payload.ticket.updated_at }}'
//	  - name: alerts
//	    runbook: node-down
//	    verify: alertmanager                  # the secret is the bearer token
//	    secret: {secret: ALERTMANAGER_TOKEN}
//	    inputs: {node: '${{ alert.labels.instance }}'}
//	    resolved_runbook: node-recovered      # default: a resolved alert starts nothing
type Webhook struct {
	Name    string
	Runbook string
	// Verify is how a request is authenticated: VerifyGitHub and the
	// others.
	Verify string
	// Secret is the NAME of the secret (STEWARD_SECRET_NAME) that signs
	// requests, or, for alertmanager and grafana, their bearer token.
	Secret string
	// Inputs map the runbook's inputs to templates over the request.
	Inputs map[string]*HookTemplate
	// Dedupe, when set, is the event's identity: the same value twice
	// starts one run. Nil: the SHA-256 of the body (for alerts: the
	// alert's fingerprint).
	Dedupe *HookTemplate
	// ResolvedRunbook is started for a resolved alert (alertmanager,
	// grafana); "": a resolved alert starts nothing.
	ResolvedRunbook string

	// Where each part is written, for Config.Diag: the entry, the
	// runbook names' values, each input's key.
	Path                         string // webhooks[I]
	Pos, RunbookPos, ResolvedPos schema.Pos
	InputPos                     map[string]schema.Pos
}

// Verification kinds of webhooks.*.verify.
const (
	VerifyGitHub       = "github"
	VerifyZendesk      = "zendesk"
	VerifyAlertmanager = "alertmanager"
	VerifyGrafana      = "grafana"
	VerifyGeneric      = "generic"
)

var verifyKinds = []string{VerifyGitHub, VerifyZendesk, VerifyAlertmanager, VerifyGrafana, VerifyGeneric}

// Alerts says whether the webhook receives alert notifications: one run
// per firing alert.
func (w *Webhook) Alerts() bool { return w.Verify == VerifyAlertmanager || w.Verify == VerifyGrafana }

// SourcesHook is the webhook path steward serve keeps for GitHub push
// webhooks that sync the sources (POST /hooks/github-sources): no
// webhook of webhooks: may take the name.
const SourcesHook = "github-sources"

var webhookKeys = []string{"name", "runbook", "verify", "secret", "inputs", "dedupe", "resolved_runbook"}

var hookName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`) })

// Webhook returns the webhook called name.
func (c *Config) Webhook(name string) (*Webhook, bool) {
	for i := range c.Webhooks {
		if c.Webhooks[i].Name == name {
			return &c.Webhooks[i], true
		}
	}
	return nil, false
}

func (l *loader) webhooks(n *yaml.Node, path string) {
	if n.ShortTag() == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "write a list: webhooks: [{name: zendesk, runbook: NAME, verify: zendesk, secret: {secret: NAME}}]", "expected a list, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i, c := range n.Content {
		c = resolve(c)
		ip := fmt.Sprintf("%s[%d]", path, i)
		w, ok := l.webhook(c, ip)
		if w.Name == SourcesHook {
			l.errorf(c, ip+".name", "name the webhook otherwise: POST /hooks/"+SourcesHook+" syncs the Git and GitHub sources (server.sources_hook_secret)", "webhook name %q is reserved", w.Name)
			continue
		}
		if w.Name != "" && seen[w.Name] {
			l.errorf(c, ip+".name", "each webhook has a name of its own: POST /hooks/NAME", "webhook %q is defined twice", w.Name)
			continue
		}
		seen[w.Name] = true
		if ok {
			l.cfg.Webhooks = append(l.cfg.Webhooks, w)
		}
	}
}

func (l *loader) webhook(n *yaml.Node, path string) (Webhook, bool) {
	w := Webhook{Inputs: map[string]*HookTemplate{}, InputPos: map[string]schema.Pos{}, Pos: pos(n), Path: path}
	before := len(l.diags)
	pairs := l.mapping(n, path, webhookKeys)
	if n.Kind != yaml.MappingNode {
		return w, false
	}
	var resolvedNode *yaml.Node
	for _, p := range pairs {
		switch p.key {
		case "name":
			w.Name = l.str(p.v, p.path, false)
			if w.Name != "" && !hookName().MatchString(w.Name) {
				l.errorf(p.v, p.path, "lower-case letters, digits, _ and -, starting with a letter", "invalid webhook name %q", w.Name)
			}
		case "runbook", "resolved_runbook":
			s := l.str(p.v, p.path, false)
			if s != "" && !schema.IsName(s) {
				l.errorf(p.v, p.path, "a runbook's name, as in its name: field", "invalid runbook name %q", s)
			}
			if p.key == "runbook" {
				w.Runbook, w.RunbookPos = s, pos(p.v)
			} else {
				w.ResolvedRunbook, w.ResolvedPos, resolvedNode = s, pos(p.v), p.k
			}
		case "verify":
			w.Verify = l.str(p.v, p.path, false)
			if w.Verify != "" && !contains(verifyKinds, w.Verify) {
				hint := didYouMean(w.Verify, verifyKinds)
				if hint == "" {
					hint = "one of " + strings.Join(verifyKinds, ", ")
				}
				l.errorf(p.v, p.path, hint, "unknown verification %q", w.Verify)
			}
		case "secret":
			ref, ok := secretRef(resolve(p.v))
			if p.v.Kind != yaml.MappingNode || !ok || ref == nil || !secretName().MatchString(ref.Value) || len(p.v.Content) != 2 {
				l.errorf(p.v, p.path, "NAME is letters, digits and _; the value is read from STEWARD_SECRET_NAME", "write {secret: NAME}: a webhook's secret is never written in steward.yaml")
				continue
			}
			w.Secret = ref.Value
		case "inputs":
			for _, q := range l.mapping(p.v, p.path, nil) {
				if t := l.template(q.v, q.path); t != nil {
					w.Inputs[q.key], w.InputPos[q.key] = t, pos(q.k)
				}
			}
		case "dedupe":
			w.Dedupe = l.template(p.v, p.path)
		}
	}
	for _, need := range []struct{ key, val, example string }{
		{"name", w.Name, "name: zendesk-card"},
		{"runbook", w.Runbook, "runbook: card-payment-failure"},
		{"verify", w.Verify, "verify: " + strings.Join(verifyKinds, " | ")},
		{"secret", w.Secret, "secret: {secret: HOOK_SECRET}"},
	} {
		if need.val == "" && !l.given(n, need.key) {
			l.errorf(n, path, "write "+need.example, "a webhook needs %s", need.key)
		}
	}
	if resolvedNode != nil && w.Verify != "" && !w.Alerts() {
		l.errorf(resolvedNode, path+".resolved_runbook", "only alerts (verify: alertmanager or grafana) resolve", "resolved_runbook is for alert webhooks")
	}
	return w, len(l.diags) == before
}

// given says whether mapping n has key (then its value was checked).
func (l *loader) given(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// InputNames lists the inputs the webhook maps, sorted.
func (w *Webhook) InputNames() []string {
	out := make([]string, 0, len(w.Inputs))
	for k := range w.Inputs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func pos(n *yaml.Node) schema.Pos { return schema.Pos{Line: n.Line, Column: n.Column} }

// Diag returns a diagnostic of the configuration file at p, for what is
// found wrong with it later than when it was read (a webhook's runbook
// that does not take the inputs it maps, say).
func (c *Config) Diag(p schema.Pos, path, hint, format string, args ...any) schema.Diagnostic {
	return diag(c.File, c.lines, &yaml.Node{Line: p.Line, Column: p.Column}, path, hint, fmt.Sprintf(format, args...))
}
