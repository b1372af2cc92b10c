package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// The shapes of Zendesk's Ticketing API this backend reads
// (developer.zendesk.com/api-reference/ticketing): only the fields used.

type zdTicket struct {
	ID           int64     `json:"id"`
	Subject      string    `json:"subject"`
	Description  string    `json:"description"`
	Status       string    `json:"status"`
	Priority     string    `json:"priority"`
	Type         string    `json:"type"`
	Tags         []string  `json:"tags"`
	RequesterID  int64     `json:"requester_id"`
	CustomFields []zdField `json:"custom_fields"`
	Via          zdVia     `json:"via"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

type zdField struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

type zdVia struct {
	Channel any `json:"channel"` // a name such as "email"; older answers give a number
}

type zdUser struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Locale string `json:"locale"`
}

type zdComment struct {
	ID        int64     `json:"id,omitempty"`
	Type      string    `json:"type,omitempty"`
	AuthorID  int64     `json:"author_id,omitempty"`
	Body      string    `json:"body"`
	Public    bool      `json:"public"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// zdComments is a page of GET /api/v2/tickets/{id}/comments.json with
// cursor pagination (page[size]).
type zdComments struct {
	Comments []zdComment `json:"comments"`
	Meta     struct {
		HasMore bool `json:"has_more"`
	} `json:"meta"`
	Links struct {
		Next string `json:"next"`
	} `json:"links"`
}

// zdUpdate is the answer of PUT /api/v2/tickets/{id}.json: the ticket and
// the audit of the change, whose Comment event is the new comment.
type zdUpdate struct {
	Ticket zdTicket `json:"ticket"`
	Audit  struct {
		Events []struct {
			ID     int64  `json:"id"`
			Type   string `json:"type"`
			Public bool   `json:"public"`
		} `json:"events"`
	} `json:"audit"`
}

// maxCommentPages bounds the pages of comments read (100 each).
const maxCommentPages = 50

type zendeskBackend struct {
	c         *zendeskClient
	subdomain string
	fields    map[string]int64
}

func newZendesk(s ZendeskSettings, transport http.RoundTripper, retryBase time.Duration) *zendeskBackend {
	return &zendeskBackend{c: newZendeskClient(s, transport, retryBase), subdomain: s.Subdomain, fields: s.Fields}
}

func (z *zendeskBackend) name() string { return backendZendesk }

func ticketPath(id int64) string { return fmt.Sprintf("/api/v2/tickets/%d.json", id) }

func (z *zendeskBackend) ticket(ctx context.Context, call *sdk.Call, id int64) (zdTicket, error) {
	var a struct {
		Ticket zdTicket `json:"ticket"`
	}
	err := z.c.do(ctx, call, request{method: http.MethodGet, path: ticketPath(id), what: fmt.Sprintf("ticket %d", id)}, &a)
	return a.Ticket, err
}

// getTicket reads the ticket, its requester and its comments (newest
// first, until the last public one).
func (z *zendeskBackend) getTicket(ctx context.Context, call *sdk.Call, id int64) (Ticket, error) {
	zt, err := z.ticket(ctx, call, id)
	if err != nil {
		return Ticket{}, err
	}
	t := Ticket{ID: zt.ID, Subject: zt.Subject, Description: zt.Description, Status: zt.Status, Priority: zt.Priority, Type: zt.Type,
		Tags: zt.Tags, Channel: channel(zt.Via.Channel), Fields: map[string]any{}, CreatedAt: zt.CreatedAt, UpdatedAt: zt.UpdatedAt,
		URL: fmt.Sprintf("https://%s.zendesk.com/agent/tickets/%d", z.subdomain, zt.ID)}
	for name, fid := range z.fields {
		t.Fields[name] = nil
		for _, f := range zt.CustomFields {
			if f.ID == fid {
				t.Fields[name] = f.Value
			}
		}
	}
	if zt.RequesterID != 0 {
		var u struct {
			User zdUser `json:"user"`
		}
		req := request{method: http.MethodGet, path: fmt.Sprintf("/api/v2/users/%d.json", zt.RequesterID), what: fmt.Sprintf("user %d (the requester of ticket %d)", zt.RequesterID, id)}
		if err := z.c.do(ctx, call, req, &u); err != nil {
			return Ticket{}, err
		}
		t.Requester = Requester{ID: u.User.ID, Name: u.User.Name, Locale: u.User.Locale}
	}
	err = z.comments(ctx, call, id, func(c zdComment) bool {
		if !c.Public {
			return true
		}
		t.LastPublicComment = Comment{ID: c.ID, AuthorID: c.AuthorID, Body: c.Body, Public: true, CreatedAt: c.CreatedAt,
			FromRequester: c.AuthorID != 0 && c.AuthorID == zt.RequesterID}
		return false
	})
	return t, err
}

// channel is via.channel as a name.
func channel(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprintf("%g", x)
	}
	return ""
}

// comments calls each with the ticket's comments, newest first, until it
// returns false or there are no more (cursor pagination, 100 a page, at
// most maxCommentPages pages).
func (z *zendeskBackend) comments(ctx context.Context, call *sdk.Call, id int64, each func(zdComment) bool) error {
	q := url.Values{"page[size]": {"100"}, "sort_order": {"desc"}}
	path := fmt.Sprintf("/api/v2/tickets/%d/comments.json?%s", id, q.Encode())
	for page := 1; page <= maxCommentPages; page++ {
		var p zdComments
		if err := z.c.do(ctx, call, request{method: http.MethodGet, path: path, what: fmt.Sprintf("ticket %d", id)}, &p); err != nil {
			return err
		}
		for _, c := range p.Comments {
			if !each(c) {
				return nil
			}
		}
		if !p.Meta.HasMore || p.Links.Next == "" {
			return nil
		}
		next, err := url.Parse(p.Links.Next)
		if err != nil {
			return sdk.Retryable("bad_response", "Zendesk's next page of comments of ticket %d is not a URL", id)
		}
		// Only the path and query: the token goes to base_url only.
		path = next.EscapedPath() + "?" + next.RawQuery
	}
	call.Warnf("ticket %d has more than %d comments: read the newest %d", id, maxCommentPages*100, maxCommentPages*100)
	return nil
}

// find returns the comment of the ticket that carries ref, if any.
func (z *zendeskBackend) find(ctx context.Context, call *sdk.Call, id int64, ref string) (*zdComment, error) {
	var found *zdComment
	err := z.comments(ctx, call, id, func(c zdComment) bool {
		if carries(c.Body, ref) {
			found = &c
			return false
		}
		return true
	})
	return found, err
}

// comment posts req with PUT /api/v2/tickets/{id}.json, unless a comment
// carries its reference already. It is not retried blindly: before each
// try it looks for the comment again, since a try that failed (a 5xx, a
// timeout) may have posted it.
func (z *zendeskBackend) comment(ctx context.Context, call *sdk.Call, req commentRequest) (CommentOutput, error) {
	tries := z.c.maxRetries + 1
	for n := 1; ; n++ {
		found, err := z.find(ctx, call, req.ticketID, req.ref)
		if err != nil {
			return CommentOutput{}, err
		}
		if found != nil {
			zt, err := z.ticket(ctx, call, req.ticketID)
			return CommentOutput{CommentID: found.ID, Status: zt.Status}, err
		}
		t := map[string]any{"comment": map[string]any{"body": req.body, "public": req.public}}
		if req.status != "" {
			t["status"] = req.status
		}
		body := map[string]any{"ticket": t}
		var a zdUpdate
		err = z.c.do(ctx, call, request{method: http.MethodPut, path: ticketPath(req.ticketID), body: body, what: fmt.Sprintf("ticket %d", req.ticketID), once: true}, &a)
		if err == nil {
			out := CommentOutput{Posted: true, Status: a.Ticket.Status}
			for _, e := range a.Audit.Events {
				if e.Type == "Comment" {
					out.CommentID = e.ID
				}
			}
			return out, nil
		}
		if ae, ok := err.(*sdk.ActionError); !ok || !ae.Retryable || n >= tries || !sleep(ctx, z.c.retryBase) {
			return CommentOutput{}, err
		}
		call.Warnf("%v (try %d of %d): looking for the comment, then trying again", err, n, tries)
	}
}

// update adds tags (PUT .../tags.json), removes tags (DELETE
// .../tags.json) and sets the status (PUT the ticket), each idempotent,
// then reads the ticket unless the last answer said it all.
func (z *zendeskBackend) update(ctx context.Context, call *sdk.Call, in UpdateInput) (UpdateOutput, error) {
	what := fmt.Sprintf("ticket %d", in.TicketID)
	tagsPath := fmt.Sprintf("/api/v2/tickets/%d/tags.json", in.TicketID)
	var out UpdateOutput
	var tags struct {
		Tags []string `json:"tags"`
	}
	if len(in.AddTags) > 0 {
		if err := z.c.do(ctx, call, request{method: http.MethodPut, path: tagsPath, body: map[string]any{"tags": in.AddTags}, what: what}, &tags); err != nil {
			return out, err
		}
	}
	if len(in.RemoveTags) > 0 {
		if err := z.c.do(ctx, call, request{method: http.MethodDelete, path: tagsPath, body: map[string]any{"tags": in.RemoveTags}, what: what}, &tags); err != nil {
			return out, err
		}
	}
	var zt zdTicket
	if in.Status != "" {
		var a zdUpdate
		if err := z.c.do(ctx, call, request{method: http.MethodPut, path: ticketPath(in.TicketID), body: map[string]any{"ticket": map[string]any{"status": in.Status}}, what: what}, &a); err != nil {
			return out, err
		}
		zt = a.Ticket
	} else {
		var err error
		if zt, err = z.ticket(ctx, call, in.TicketID); err != nil {
			return out, err
		}
	}
	out.Tags, out.Status = zt.Tags, zt.Status
	return out, nil
}
