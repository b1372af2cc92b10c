package main

// End-to-end tests of the triage-ticket runbook through the real steward
// binary, with the real helpdesk, payments, evm and notify plugin
// processes pinned in a temporary home: on the helpdesk sandbox, a refund
// the card sub-run waits for, then the reply's approval; and on the
// zendesk backend against an httptest server built from Zendesk's
// documented API shapes (no Zendesk is reachable from the tests), with the
// API token a secret that appears nowhere.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var triagePlugins = []string{"helpdesk", "payments", "evm", "notify"}

// TestTriageTicketRefundAndReply: ticket 1006 asks for the refund of a
// double charge. card-payment-failure runs as a sub-run and waits for a
// payments-lead: the triage waits (exit 3) and prints the approve command
// of the sub-run's step; approved, the sub-run refunds and ends, the
// triage notes and tags the ticket and waits for the reply's approval
// (exit 3); approved, the reply is sent (exit 0). Both runs verify.
func TestTriageTicketRefundAndReply(t *testing.T) {
	e := newSupportEnv(t, "approvals:\n  groups:\n    payments-leads: [bruno]\n", nil, triagePlugins...)
	r := e.cmd(exitWaiting, "run", "triage-ticket", "--input", "ticket_id=1006", "--as", "zendesk-webhook", "--progress", "plain")
	id := runID(t, r)
	m := regexp.MustCompile(`steward approve (\S+) (card\.\w+) --comment`).FindStringSubmatch(r.stderr)
	if m == nil || m[1] != id {
		t.Fatalf("the run does not print the command that decides the sub-run's question:\n%s", r.stderr)
	}
	path := m[2] // card.refund: card-payment-failure's refund step
	if !strings.Contains(r.stderr, "who may decide: group:payments-leads (bruno)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if sub := e.show(id + ".card"); sub.Run.Status != "waiting" {
		t.Fatalf("the card sub-run is %s, want waiting", sub.Run.Status)
	}

	r = e.cmd(exitWaiting, "approve", id, path, "--as", "bruno", "--comment", "double charge confirmed", "--progress", "plain")
	if !strings.Contains(r.stderr, "steward approve "+id+" send_reply --comment") {
		t.Fatalf("after the refund, the reply waits:\n%s", r.stderr)
	}
	sub := e.show(id + ".card")
	if sub.Run.Status != "succeeded" || sub.Outputs["refund_status"] != "refunded" || len(sub.Approvals) != 1 || sub.Approvals[0].By != "bruno" {
		t.Fatalf("sub-run: %s, outputs %v, approvals %+v", sub.Run.Status, sub.Outputs, sub.Approvals)
	}

	r = e.cmd(exitOK, "approve", id, "send_reply", "--as", "dana", "--comment", "reads well", "-o", "json")
	var doc supportDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("approve -o json: %v\n%s", err, r.stdout)
	}
	if doc.Status != "succeeded" || doc.Outputs["reply_sent"] != true || doc.Outputs["outcome"] != "diagnosed" || doc.Outputs["category"] != "card_payment" ||
		!strings.Contains(doc.Outputs["summary"].(string), "diagnosis duplicate") || !strings.Contains(doc.Outputs["summary"].(string), "Refunded 25.00 EUR") ||
		!strings.Contains(doc.Outputs["reply"].(string), "25.00 EUR") {
		t.Fatalf("triage: %s, outputs %v", doc.Status, doc.Outputs)
	}
	if s := doc.step(t, "card"); s.Attempts != 1 || s.Status != "succeeded" {
		t.Errorf("step card: %+v", s)
	}
	if s := doc.step(t, "tag"); strings.Join(anyStrings(s.Outputs["tags"]), ",") != "steward-card,steward-triaged" {
		t.Errorf("tags: %v", s.Outputs["tags"])
	}
	e.cmd(exitOK, "audit", "verify")
}

// TestTriageTicketOther: a ticket no runbook matches gets its note and
// tags and nothing for the customer; the run succeeds without waiting.
func TestTriageTicketOther(t *testing.T) {
	e := newSupportEnv(t, "", nil, triagePlugins...)
	doc := e.run(exitOK, "triage-ticket", "--input", "ticket_id=1005")
	if doc.Outputs["outcome"] != "no_runbook" || doc.Outputs["reply"] != "" || doc.step(t, "send_reply").Status != "skipped" {
		t.Fatalf("outputs %v", doc.Outputs)
	}
	e.cmd(exitInvalid, "run", "triage-ticket", "--input", "ticket_id=0")
}

// zendeskFake is a minimal Zendesk Ticketing API (Show Ticket, Show
// User, List Comments with cursor pagination, Update Ticket with a
// comment or a status, Add Tags), built from Zendesk's documented
// request and response shapes: no Zendesk is reachable from the tests.
type zendeskFake struct {
	mu       sync.Mutex
	token    string
	status   string
	tags     []string
	comments []map[string]any
	badAuth  int
}

func (z *zendeskFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	z.mu.Lock()
	defer z.mu.Unlock()
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "bot@example.org/token" || p != z.token {
		z.badAuth++
		reply(http.StatusUnauthorized, map[string]any{"error": "Couldn't authenticate you"})
		return
	}
	ticket := func() map[string]any {
		return map[string]any{"id": 4711, "subject": "Transaction stuck", "status": z.status, "tags": z.tags, "requester_id": 77,
			"description":   "My transfer on ethereum is pending: 0x9a909a909a909a909a909a909a909a909a909a909a909a909a909a909a909a90",
			"custom_fields": []any{map[string]any{"id": 360001, "value": "crypto"}}, "via": map[string]any{"channel": "web"},
			"created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:00:00Z"}
	}
	switch p := r.Method + " " + r.URL.Path; p {
	case "GET /api/v2/tickets/4711.json":
		reply(http.StatusOK, map[string]any{"ticket": ticket()})
	case "GET /api/v2/users/77.json":
		reply(http.StatusOK, map[string]any{"user": map[string]any{"id": 77, "name": "Maria", "locale": "en-US", "email": "maria@example.com"}})
	case "GET /api/v2/tickets/4711/comments.json":
		list := []any{}
		for i := len(z.comments) - 1; i >= 0; i-- { // sort_order=desc
			list = append(list, z.comments[i])
		}
		reply(http.StatusOK, map[string]any{"comments": list, "meta": map[string]any{"has_more": false}, "links": map[string]any{"next": nil}})
	case "PUT /api/v2/tickets/4711.json":
		var body struct {
			Ticket struct {
				Comment *struct {
					Body   string `json:"body"`
					Public bool   `json:"public"`
				} `json:"comment"`
				Status string `json:"status"`
			} `json:"ticket"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		var events []any
		if c := body.Ticket.Comment; c != nil {
			cm := map[string]any{"id": 100 + len(z.comments), "type": "Comment", "author_id": 5, "body": c.Body, "public": c.Public,
				"created_at": "2026-11-20T10:00:00Z"}
			z.comments = append(z.comments, cm)
			events = append(events, map[string]any{"id": cm["id"], "type": "Comment", "public": c.Public})
		}
		if body.Ticket.Status != "" {
			z.status = body.Ticket.Status
		}
		reply(http.StatusOK, map[string]any{"ticket": ticket(), "audit": map[string]any{"events": events}})
	case "PUT /api/v2/tickets/4711/tags.json":
		var body struct{ Tags []string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		z.tags = append(z.tags, body.Tags...)
		reply(http.StatusOK, map[string]any{"tags": z.tags})
	default:
		reply(http.StatusNotFound, map[string]any{"error": "RecordNotFound", "description": "Not found: " + p})
	}
}

// TestTriageTicketZendesk: a Zendesk ticket about a stuck transaction
// (its category field says crypto) is read through the API, diagnosed by
// stuck-transaction on the evm sandbox, and gets two internal notes (the
// diagnosis, the proposed reply) and the tags; nothing public until the
// reply step is approved, then one public reply with status pending. The
// API token, given as a secret, is in no output and no file of the home.
func TestTriageTicketZendesk(t *testing.T) {
	const token = "zd-tok-5ecr3t-0b7e"
	z := &zendeskFake{token: token, status: "new", tags: []string{}}
	srv := httptest.NewServer(z)
	defer srv.Close()
	e := newSupportEnv(t, `plugins:
  settings:
    helpdesk:
      backend: zendesk
      zendesk:
        subdomain: example
        email: bot@example.org
        api_token: {secret: ZENDESK_API_TOKEN}
        base_url: `+srv.URL+`
        fields: {category: 360001}
`, []string{"STEWARD_SECRET_ZENDESK_API_TOKEN=" + token}, triagePlugins...)
	r := e.cmd(exitWaiting, "run", "triage-ticket", "--input", "ticket_id=4711", "--as", "zendesk-webhook", "--progress", "plain")
	id := runID(t, r)
	z.mu.Lock()
	var public int
	for _, c := range z.comments {
		if c["public"] == true {
			public++
		}
	}
	if len(z.comments) != 2 || public != 0 || !strings.HasPrefix(z.comments[0]["body"].(string), "Steward triage (run "+id) ||
		!strings.Contains(z.comments[0]["body"].(string), "Category: stuck_transaction (score ") ||
		!strings.Contains(z.comments[0]["body"].(string), "field category=crypto") ||
		!strings.HasPrefix(z.comments[1]["body"].(string), "Proposed reply (not sent to the customer)") ||
		!strings.Contains(z.comments[1]["body"].(string), "Hi Maria,") ||
		strings.Join(z.tags, ",") != "steward-triaged,steward-stuck-tx" {
		t.Fatalf("before the approval: comments %v, tags %v", z.comments, z.tags)
	}
	z.mu.Unlock()

	e.cmd(exitOK, "approve", id, "send_reply", "--as", "dana")
	z.mu.Lock()
	last := z.comments[len(z.comments)-1]
	if len(z.comments) != 3 || last["public"] != true || !strings.HasPrefix(last["body"].(string), "Hi Maria,") || z.status != "pending" || z.badAuth != 0 {
		t.Fatalf("after the approval: %d comments, last %v, status %s, %d refused logins", len(z.comments), last, z.status, z.badAuth)
	}
	z.mu.Unlock()
	doc := e.show(id)
	if doc.Run.Status != "succeeded" || doc.Outputs["runbook"] != "stuck-transaction" {
		t.Fatalf("show: %s %v", doc.Run.Status, doc.Outputs)
	}
	if s := doc.step(t, "ticket"); s.Outputs["backend"] != "zendesk" || s.Outputs["url"] != "https://example.zendesk.com/agent/tickets/4711" {
		t.Errorf("ticket: %v", s.Outputs)
	}
	e.cmd(exitOK, "audit", "verify")
	e.secretsNowhere(token, "maria@example.com")
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}
