package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeZendesk is an HTTP server that answers as the Zendesk Ticketing API
// does, built from its documented request and response shapes
// (developer.zendesk.com/api-reference/ticketing: Tickets, Ticket
// Comments, Tags, Users; Introduction > Pagination, Rate limits, Security
// and authentication). No Zendesk account is reachable from these tests:
// this is what they run against. It serves only what the plugin uses,
// checks what Zendesk checks (basic auth EMAIL/token:TOKEN, JSON bodies,
// a comment in a ticket update), and records every request.
type fakeZendesk struct {
	t     *testing.T
	srv   *httptest.Server
	email string
	token string

	mu       sync.Mutex
	tickets  map[int64]*fakeTicket
	users    map[int64]map[string]any
	requests []string // METHOD PATH?QUERY, in order
	nextID   int64
	// fail, when set, answers a request instead of the API: return 0 to
	// let the API answer.
	fail func(w http.ResponseWriter, r *http.Request) int
	// afterPut runs after a comment was stored, and may replace the
	// answer (a 5xx after the write: the client cannot know it worked).
	afterPut func(w http.ResponseWriter) bool
}

type fakeTicket struct {
	ticket   map[string]any // the ticket object, as GET answers it
	comments []map[string]any
}

func newFakeZendesk(t *testing.T) *fakeZendesk {
	f := &fakeZendesk{t: t, email: "agent@example.org", token: "zd-T0KEN-s3cret", tickets: map[int64]*fakeTicket{}, users: map[int64]map[string]any{}, nextID: 9000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// settings are the plugin settings that point at the fake.
func (f *fakeZendesk) settings() map[string]any {
	return map[string]any{"backend": "zendesk", "zendesk": map[string]any{
		"subdomain": "example", "email": f.email, "api_token": f.token, "base_url": f.srv.URL,
		"fields": map[string]any{"category": 360001}, "timeout": "2s", "max_retries": 2}}
}

// addTicket adds a ticket with its requester and description as its first
// (public) comment, then more comments: "public:BODY" or "note:BODY".
func (f *fakeZendesk) addTicket(id, requester int64, subject, description, locale string, comments ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	created := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ft := &fakeTicket{ticket: map[string]any{
		"id": id, "url": fmt.Sprintf("https://example.zendesk.com/api/v2/tickets/%d.json", id), "subject": subject,
		"raw_subject": subject, "description": description, "status": "new", "priority": nil, "type": "question",
		"tags": []any{"vip"}, "requester_id": requester, "submitter_id": requester, "assignee_id": nil,
		"custom_fields": []any{map[string]any{"id": 360001, "value": "card_payment"}, map[string]any{"id": 360002, "value": nil}},
		"via":           map[string]any{"channel": "email", "source": map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": nil}},
		"created_at":    created.Format(time.RFC3339), "updated_at": created.Format(time.RFC3339),
	}}
	f.users[requester] = map[string]any{"id": requester, "name": "Ana Silva", "email": "ana@example.com", "locale": locale, "role": "end-user"}
	ft.comments = append(ft.comments, f.newComment(requester, description, true, created))
	for i, c := range comments {
		kind, body, _ := strings.Cut(c, ":")
		author := int64(900001)
		if kind == "public" && i%2 == 0 {
			author = requester
		}
		ft.comments = append(ft.comments, f.newComment(author, body, kind == "public", created.Add(time.Duration(i+1)*time.Minute)))
	}
	f.tickets[id] = ft
}

func (f *fakeZendesk) newComment(author int64, body string, public bool, at time.Time) map[string]any {
	f.nextID++
	return map[string]any{"id": f.nextID, "type": "Comment", "author_id": author, "body": body, "html_body": "<p>" + body + "</p>",
		"plain_body": body, "public": public, "attachments": []any{}, "created_at": at.Format(time.RFC3339),
		"metadata": map[string]any{"system": map[string]any{}}, "via": map[string]any{"channel": "api"}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeZendesk) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	fail := f.fail
	f.mu.Unlock()
	if user, pass, ok := r.BasicAuth(); !ok || user != f.email+"/token" || pass != f.token {
		// As Zendesk answers a bad token.
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Couldn't authenticate you"})
		return
	}
	if fail != nil && fail(w, r) != 0 {
		return
	}
	if r.Body != nil && r.Method != http.MethodGet && r.Header.Get("Content-Type") != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": "UnsupportedMediaType"})
		return
	}
	path := r.URL.Path
	parts := strings.Split(strings.TrimPrefix(path, "/api/v2/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	notFound := func() {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "RecordNotFound", "description": "Not found"})
	}
	switch {
	case len(parts) == 2 && parts[0] == "users" && r.Method == http.MethodGet:
		id, _ := strconv.ParseInt(strings.TrimSuffix(parts[1], ".json"), 10, 64)
		u, ok := f.users[id]
		if !ok {
			notFound()
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": u})
	case len(parts) >= 2 && parts[0] == "tickets":
		id, _ := strconv.ParseInt(strings.TrimSuffix(parts[1], ".json"), 10, 64)
		ft, ok := f.tickets[id]
		if !ok {
			notFound()
			return
		}
		switch {
		case len(parts) == 2 && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, map[string]any{"ticket": ft.ticket})
		case len(parts) == 2 && r.Method == http.MethodPut:
			f.putTicket(w, r, ft)
		case len(parts) == 3 && parts[2] == "comments.json" && r.Method == http.MethodGet:
			f.listComments(w, r, id, ft)
		case len(parts) == 3 && parts[2] == "tags.json" && (r.Method == http.MethodPut || r.Method == http.MethodDelete):
			var body struct{ Tags []string }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Tags == nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "InvalidEndpoint", "description": "tags is required"})
				return
			}
			tags := ft.tags()
			for _, tag := range body.Tags {
				switch {
				case r.Method == http.MethodPut && !slices.Contains(tags, tag):
					tags = append(tags, tag)
				case r.Method == http.MethodDelete:
					tags = slices.DeleteFunc(tags, func(t string) bool { return t == tag })
				}
			}
			sort.Strings(tags)
			ft.setTags(tags)
			writeJSON(w, http.StatusOK, map[string]any{"tags": tags})
		default:
			notFound()
		}
	default:
		notFound()
	}
}

func (ft *fakeTicket) tags() []string {
	var out []string
	for _, t := range ft.ticket["tags"].([]any) {
		out = append(out, t.(string))
	}
	return out
}

func (ft *fakeTicket) setTags(tags []string) {
	l := make([]any, len(tags))
	for i, t := range tags {
		l[i] = t
	}
	ft.ticket["tags"] = l
}

// putTicket is Update Ticket: {"ticket": {"comment": {"body", "public"},
// "status"}}; it answers the ticket and the audit with a Comment event.
func (f *fakeZendesk) putTicket(w http.ResponseWriter, r *http.Request, ft *fakeTicket) {
	var body struct {
		Ticket map[string]json.RawMessage `json:"ticket"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Ticket == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "InvalidEndpoint", "description": "ticket is required"})
		return
	}
	for k := range body.Ticket {
		if k != "comment" && k != "status" {
			f.t.Errorf("the update sends ticket.%s: an update must send only what it changes", k)
		}
	}
	var events []any
	if raw, ok := body.Ticket["comment"]; ok {
		var c struct {
			Body   *string `json:"body"`
			Public *bool   `json:"public"`
		}
		if err := json.Unmarshal(raw, &c); err != nil || c.Body == nil || strings.TrimSpace(*c.Body) == "" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "RecordInvalid", "description": "Record validation errors",
				"details": map[string]any{"base": []any{map[string]any{"description": "Comment: cannot be blank"}}}})
			return
		}
		if c.Public == nil {
			f.t.Errorf("the comment does not say public: Zendesk would make it public by default")
			c.Public = new(bool)
		}
		cm := f.newComment(900001, *c.Body, *c.Public, time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
		ft.comments = append(ft.comments, cm)
		events = append(events, map[string]any{"id": cm["id"], "type": "Comment", "body": cm["body"], "public": cm["public"], "author_id": 900001})
		if ft.ticket["status"] == "new" {
			ft.ticket["status"] = "open"
		}
	}
	if raw, ok := body.Ticket["status"]; ok {
		var s string
		_ = json.Unmarshal(raw, &s)
		if ft.ticket["status"] == "closed" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "RecordInvalid", "description": "Record validation errors",
				"details": map[string]any{"status": []any{map[string]any{"description": "Status: closed prevents ticket update"}}}})
			return
		}
		ft.ticket["status"] = s
	}
	if f.afterPut != nil && f.afterPut(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ticket": ft.ticket, "audit": map[string]any{"id": 77, "events": events}})
}

// listComments is List Comments with cursor pagination (page[size],
// page[after]) and sort_order.
func (f *fakeZendesk) listComments(w http.ResponseWriter, r *http.Request, id int64, ft *fakeTicket) {
	q := r.URL.Query()
	size, err := strconv.Atoi(q.Get("page[size]"))
	if err != nil || size < 1 || size > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "InvalidPaginationParameter", "description": "page[size] must be 1 to 100"})
		return
	}
	list := slices.Clone(ft.comments)
	if q.Get("sort_order") == "desc" {
		slices.Reverse(list)
	}
	start := 0
	if a := q.Get("page[after]"); a != "" {
		start, _ = strconv.Atoi(a)
	}
	end := min(start+size, len(list))
	page := map[string]any{"comments": list[start:end], "meta": map[string]any{"has_more": end < len(list), "after_cursor": strconv.Itoa(end)},
		"links": map[string]any{"next": nil}}
	if end < len(list) {
		next := fmt.Sprintf("%s/api/v2/tickets/%d/comments.json?page%%5Bafter%%5D=%d&page%%5Bsize%%5D=%d&sort_order=%s", f.srv.URL, id, end, size, q.Get("sort_order"))
		page["links"] = map[string]any{"next": next}
	}
	writeJSON(w, http.StatusOK, page)
}

// comments returns the bodies of a ticket's comments, oldest first, with
// "note:" or "public:" before each.
func (f *fakeZendesk) comments(id int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.tickets[id].comments {
		kind := "note:"
		if c["public"] == true {
			kind = "public:"
		}
		out = append(out, kind+c["body"].(string))
	}
	return out
}

// count is how many requests matched METHOD PATH (without the query).
func (f *fakeZendesk) count(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		p, _, _ := strings.Cut(r, "?")
		if p == method+" "+path {
			n++
		}
	}
	return n
}
