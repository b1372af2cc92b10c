package main

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// Every test here runs against fakeZendesk, an httptest server built from
// Zendesk's documented API shapes: no Zendesk is reachable from the tests.

// TestZendeskGetTicket: the ticket, its requester (by requester_id), its
// named custom field and its last public comment (found by paging the
// comments newest first, past the agents' internal notes), with the
// language of a Chinese requester and the text to classify.
func TestZendeskGetTicket(t *testing.T) {
	f := newFakeZendesk(t)
	var notes []string
	for range 120 { // more than a page of 100: the reply is on page 2
		notes = append(notes, "note:internal")
	}
	f.addTicket(42, 7, "付款失败", "my card payment pi_1234567 failed", "zh-CN", append([]string{"public:it was declined again"}, notes...)...)
	p := start(t, f.settings())
	out, _, err := p.Execute("get_ticket", map[string]any{"ticket_id": 42})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"id": float64(42), "subject": "付款失败", "status": "new", "priority": "", "type": "question",
		"channel": "email", "language": "zh", "backend": "zendesk", "url": "https://example.zendesk.com/agent/tickets/42",
		"text": "付款失败\nmy card payment pi_1234567 failed\nit was declined again"} {
		if out[k] != want {
			t.Errorf("%s = %#v, want %#v", k, out[k], want)
		}
	}
	if f := out["fields"].(map[string]any); len(f) != 1 || f["category"] != "card_payment" {
		t.Errorf("fields = %v", f)
	}
	req := out["requester"].(map[string]any)
	if req["name"] != "Ana Silva" || req["locale"] != "zh-CN" || req["id"] != float64(7) || req["email"] != nil {
		t.Errorf("requester = %v (the email address is left out)", req)
	}
	last := out["last_public_comment"].(map[string]any)
	if last["body"] != "it was declined again" || last["public"] != true || last["from_requester"] != true {
		t.Errorf("last public comment = %v", last)
	}
	if n := f.count("GET", "/api/v2/tickets/42/comments.json"); n != 2 {
		t.Errorf("%d pages of comments read, want 2", n)
	}
	if f.requests[2] != "GET /api/v2/tickets/42/comments.json?page%5Bsize%5D=100&sort_order=desc" {
		t.Errorf("the first page was asked as %s", f.requests[2])
	}
	_, _, err = p.Execute("get_ticket", map[string]any{"ticket_id": 404})
	sdktest.WantError(t, err, "not_found", false, "Zendesk has no ticket 404 (404 Not Found)")
}

// TestZendeskNoteAndReply: an internal note is a comment with public
// false, a reply one with public true and the status asked; both end
// with the step's reference; the same step again (a retry, a resume)
// finds its comment and posts nothing.
func TestZendeskNoteAndReply(t *testing.T) {
	f := newFakeZendesk(t)
	f.addTicket(42, 7, "s", "help", "en-US")
	p := start(t, f.settings())
	note := sdktest.IdempotencyKey("20261206-130000-abcdef01:note")
	out, _, err := p.Execute("add_note", map[string]any{"ticket_id": 42, "body": "Diagnosis: declined"}, note)
	if err != nil {
		t.Fatal(err)
	}
	ref := reference("20261206-130000-abcdef01:note")
	if out["posted"] != true || out["public"] != false || out["reference"] != ref || out["status"] != "open" || out["comment_id"] == float64(0) {
		t.Fatalf("add_note = %v", out)
	}
	again, logs, err := p.Execute("add_note", map[string]any{"ticket_id": 42, "body": "Diagnosis: declined"}, note, sdktest.Attempt(2))
	if err != nil || again["posted"] != false || again["comment_id"] != out["comment_id"] {
		t.Fatalf("add_note again = %v, %v", again, err)
	}
	if !strings.Contains(logs[len(logs)-1].Message, "already has comment") {
		t.Errorf("no warning that nothing was posted: %v", logs)
	}
	reply := sdktest.IdempotencyKey("20261206-130000-abcdef01:reply")
	out, _, err = p.Execute("reply", map[string]any{"ticket_id": 42, "body": "Hi Ana, ...", "status": "pending"}, reply)
	if err != nil || out["posted"] != true || out["public"] != true || out["status"] != "pending" {
		t.Fatalf("reply = %v, %v", out, err)
	}
	want := []string{"public:help", "note:Diagnosis: declined\n\n[ref " + ref + "]", "public:Hi Ana, ...\n\n[ref " + reference("20261206-130000-abcdef01:reply") + "]"}
	if got := f.comments(42); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("comments:\n%q\nwant\n%q", got, want)
	}
	if n := f.count("PUT", "/api/v2/tickets/42.json"); n != 2 {
		t.Errorf("%d ticket updates, want 2", n)
	}
}

// TestZendeskCommentFailedAfterWrite: Zendesk stored the comment and then
// answered 503 (or the connection dropped): the plugin looks for the
// comment before trying again, finds it, and does not post it twice.
func TestZendeskCommentFailedAfterWrite(t *testing.T) {
	f := newFakeZendesk(t)
	f.addTicket(42, 7, "s", "help", "en-US")
	var failed atomic.Bool
	f.afterPut = func(w http.ResponseWriter) bool {
		if failed.CompareAndSwap(false, true) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "ServiceUnavailable", "description": "try again"})
			return true
		}
		return false
	}
	p := start(t, f.settings())
	out, _, err := p.Execute("reply", map[string]any{"ticket_id": 42, "body": "Hi"}, sdktest.IdempotencyKey("r:reply"))
	if err != nil {
		t.Fatal(err)
	}
	if out["posted"] != false || len(f.comments(42)) != 2 || f.count("PUT", "/api/v2/tickets/42.json") != 1 {
		t.Fatalf("reply = %v; comments %q; %d PUTs", out, f.comments(42), f.count("PUT", "/api/v2/tickets/42.json"))
	}
}

// TestZendeskUpdateTicket: tags added with PUT .../tags.json, removed
// with DELETE, the status with a ticket update; the same request again
// changes nothing.
func TestZendeskUpdateTicket(t *testing.T) {
	f := newFakeZendesk(t)
	f.addTicket(42, 7, "s", "help", "en-US")
	p := start(t, f.settings())
	with := map[string]any{"ticket_id": 42, "add_tags": []any{"steward-triaged", "steward-card"}, "remove_tags": []any{"vip"}, "status": "pending"}
	for range 2 {
		out, _, err := p.Execute("update_ticket", with)
		if err != nil {
			t.Fatal(err)
		}
		if got := out["tags"].([]any); len(got) != 2 || got[0] != "steward-card" || got[1] != "steward-triaged" || out["status"] != "pending" {
			t.Fatalf("update_ticket = %v", out)
		}
	}
	out, _, err := p.Execute("update_ticket", map[string]any{"ticket_id": 42, "add_tags": []any{"x"}})
	if err != nil || out["status"] != "pending" || len(out["tags"].([]any)) != 3 {
		t.Fatalf("tags only: %v, %v", out, err)
	}
}

// TestZendeskErrors: what Zendesk refuses says why, without the token;
// a 429 is retried after its Retry-After, a 5xx after a pause, up to
// max_retries; then the error is retryable for the step's retry policy.
func TestZendeskErrors(t *testing.T) {
	f := newFakeZendesk(t)
	f.addTicket(42, 7, "s", "help", "en-US")
	settings := f.settings()

	bad := f.settings()
	bad["zendesk"].(map[string]any)["api_token"] = "wrong-t0ken"
	p := start(t, bad)
	_, _, err := p.Execute("get_ticket", map[string]any{"ticket_id": 42})
	ae := sdktest.WantError(t, err, "auth_failed", false,
		"Zendesk refused the credentials (401 Unauthorized) on GET /api/v2/tickets/42.json: check plugins.settings.helpdesk.zendesk.email and api_token")
	if strings.Contains(ae.Message, "wrong-t0ken") {
		t.Errorf("the token is in the error")
	}

	p = start(t, settings)
	f.mu.Lock()
	f.tickets[42].ticket["status"] = "closed"
	f.mu.Unlock()
	_, _, err = p.Execute("update_ticket", map[string]any{"ticket_id": 42, "status": "open"})
	sdktest.WantError(t, err, "invalid_request", false,
		"Zendesk refused PUT /api/v2/tickets/42.json (422 Unprocessable Entity): RecordInvalid; Record validation errors; status: Status: closed prevents ticket update")

	var n atomic.Int64
	f.fail = func(w http.ResponseWriter, r *http.Request) int {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "TooManyRequests"})
			return 1
		}
		return 0
	}
	out, logs, err := p.Execute("get_ticket", map[string]any{"ticket_id": 42})
	if err != nil || out["id"] != float64(42) {
		t.Fatalf("after a 429: %v, %v", out, err)
	}
	if !strings.Contains(logs[1].Message, "Zendesk rate-limited GET /api/v2/tickets/42.json (429 Too Many Requests) (try 1 of 3): retrying in 0s") {
		t.Errorf("logs: %v", logs)
	}

	f.fail = func(w http.ResponseWriter, r *http.Request) int {
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": "BadGateway", "description": "upstream"})
		return 1
	}
	_, _, err = p.Execute("get_ticket", map[string]any{"ticket_id": 42})
	sdktest.WantError(t, err, "provider_unavailable", true, "Zendesk answered 502 Bad Gateway to GET /api/v2/tickets/42.json (3 tries): BadGateway; upstream")

	// A reply whose update keeps failing: tried max_retries+1 times,
	// looking for the comment before each, then retryable.
	f.mu.Lock()
	f.requests = nil
	f.mu.Unlock()
	f.fail = func(w http.ResponseWriter, r *http.Request) int {
		if r.Method == http.MethodPut {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "InternalError"})
			return 1
		}
		return 0
	}
	_, _, err = p.Execute("reply", map[string]any{"ticket_id": 42, "body": "Hi"}, sdktest.IdempotencyKey("k"))
	sdktest.WantError(t, err, "provider_unavailable", true, "Zendesk answered 500 Internal Server Error to PUT /api/v2/tickets/42.json: InternalError")
	if puts, lists := f.count("PUT", "/api/v2/tickets/42.json"), f.count("GET", "/api/v2/tickets/42/comments.json"); puts != 3 || lists < 3 {
		t.Errorf("%d PUTs, %d comment lists; want 3 PUTs each after a look", puts, lists)
	}
}

// TestZendeskErrorDetailsInOrder: the details of a refusal are quoted
// field by field in the order of the fields' names, the same every time
// (they come as a JSON object: a map).
func TestZendeskErrorDetailsInOrder(t *testing.T) {
	c := &zendeskClient{token: "zd-k3y"}
	body := []byte(`{"error":"RecordInvalid","description":"Record validation errors","details":{` +
		`"status":[{"description":"Status: closed prevents ticket update"}],"base":[{"description":"Comment: cannot be blank"}],` +
		`"priority":[{"description":"Priority: is invalid"}],"assignee_id":[{"description":"Assignee: is not an agent"}]}}`)
	want := "RecordInvalid; Record validation errors; assignee_id: Assignee: is not an agent; base: Comment: cannot be blank; " +
		"priority: Priority: is invalid; status: Status: closed prevents ticket update"
	for range 20 {
		if got := c.detail(&outcome{status: 422, body: body}); got != want {
			t.Fatalf("detail %q\nwant %q", got, want)
		}
	}
}
