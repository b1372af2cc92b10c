package main

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stewardhq/steward/plugins/sdk"
)

// TicketInput is the with of helpdesk.get_ticket.
type TicketInput struct {
	TicketID int64 `json:"ticket_id" min:"1" desc:"the ticket's number"`
}

// Ticket is what helpdesk.get_ticket returns. Strings are "" when the
// helpdesk has nothing.
type Ticket struct {
	ID          int64    `json:"id"`
	Subject     string   `json:"subject"`
	Description string   `json:"description" desc:"the ticket's first comment, as the customer wrote it"`
	Status      string   `json:"status" desc:"new, open, pending, hold, solved or closed"`
	Priority    string   `json:"priority" desc:"low, normal, high, urgent or empty"`
	Type        string   `json:"type" desc:"problem, incident, question, task or empty"`
	Tags        []string `json:"tags"`
	Channel     string   `json:"channel" desc:"how the ticket arrived: email, web, api, chat..."`
	// Fields are the custom fields the settings name (zendesk.fields),
	// by name; a field with no value is null.
	Fields            map[string]any `json:"fields" desc:"the custom fields named in the settings (zendesk.fields), by name"`
	Requester         Requester      `json:"requester"`
	LastPublicComment Comment        `json:"last_public_comment" desc:"the newest public comment (the description when there is no other)"`
	Language          string         `json:"language" enum:"en,zh" desc:"zh when the requester's locale is Chinese or the ticket is written in Chinese, else en"`
	Text              string         `json:"text" desc:"subject, description and last public comment, one per line: what to classify"`
	URL               string         `json:"url" desc:"the ticket in the agent interface"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	Backend           string         `json:"backend" enum:"sandbox,zendesk"`
}

// Requester is who asked. The email address is left out on purpose: the
// run's record does not need it.
type Requester struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Locale string `json:"locale" desc:"such as en-US or zh-CN"`
}

// Comment is one comment of a ticket.
type Comment struct {
	ID            int64     `json:"id"`
	AuthorID      int64     `json:"author_id"`
	Body          string    `json:"body"`
	Public        bool      `json:"public"`
	FromRequester bool      `json:"from_requester" desc:"written by the ticket's requester (not by an agent)"`
	CreatedAt     time.Time `json:"created_at"`
}

// getTicket is helpdesk.get_ticket: read-only.
func (h *helpdesk) getTicket(ctx context.Context, call *sdk.Call, in TicketInput) (Ticket, error) {
	call.Infof("reading ticket %d (%s)", in.TicketID, h.backend.name())
	t, err := h.backend.getTicket(ctx, call, in.TicketID)
	if err != nil {
		return Ticket{}, err
	}
	finishTicket(&t)
	t.Backend = h.backend.name()
	call.Infof("ticket %d %s, %s, from %s (%s)", t.ID, t.Status, t.Language, orWord(t.Requester.Name, "an unnamed requester"), orWord(t.Channel, "unknown channel"))
	return t, nil
}

// finishTicket fills in what every backend derives the same way: the
// last public comment when none, the language, the text, empty lists.
func finishTicket(t *Ticket) {
	if t.Tags == nil {
		t.Tags = []string{}
	}
	if t.Fields == nil {
		t.Fields = map[string]any{}
	}
	if t.LastPublicComment.Body == "" {
		t.LastPublicComment = Comment{Body: t.Description, Public: true, FromRequester: true, AuthorID: t.Requester.ID, CreatedAt: t.CreatedAt}
	}
	lines := []string{t.Subject, t.Description}
	if c := t.LastPublicComment.Body; c != t.Description {
		lines = append(lines, c)
	}
	t.Text = strings.Join(lines, "\n")
	t.Language = language(t.Requester.Locale, t.Text)
}

// language is zh for a Chinese locale or a text with Han characters,
// else en: the two languages the support runbooks reply in.
func language(locale, text string) string {
	if strings.HasPrefix(strings.ToLower(locale), "zh") {
		return "zh"
	}
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return "zh"
		}
	}
	return "en"
}

// NoteInput is the with of helpdesk.add_note.
type NoteInput struct {
	TicketID int64  `json:"ticket_id" min:"1" desc:"the ticket's number"`
	Body     string `json:"body" desc:"the note, plain text; agents see it, the customer never does"`
}

// ReplyInput is the with of helpdesk.reply.
type ReplyInput struct {
	TicketID int64  `json:"ticket_id" min:"1" desc:"the ticket's number"`
	Body     string `json:"body" desc:"the reply, plain text: the customer receives it"`
	Status   string `json:"status,omitempty" enum:"open,pending,hold,solved" desc:"the ticket's status after the reply (default: unchanged); pending waits for the customer"`
}

// CommentOutput is what add_note and reply return.
type CommentOutput struct {
	TicketID  int64  `json:"ticket_id"`
	CommentID int64  `json:"comment_id" desc:"the comment's id; 0 when the helpdesk did not say"`
	Public    bool   `json:"public" desc:"true for a reply, false for an internal note"`
	Posted    bool   `json:"posted" desc:"false when a comment with this step's reference was there already (a retry): nothing was posted again"`
	Reference string `json:"reference" desc:"the reference the comment ends with, made from the step's idempotency key"`
	Status    string `json:"status" desc:"the ticket's status afterwards"`
	Backend   string `json:"backend" enum:"sandbox,zendesk"`
}

// commentRequest is a comment as the backends see it.
type commentRequest struct {
	ticketID int64
	body     string // with the reference line
	ref      string
	public   bool
	status   string // "": unchanged
}

// maxBody is the longest comment accepted, in characters: Zendesk's
// limit is 64 KB, and the reference takes a line.
const maxBody = 60000

// addNote is helpdesk.add_note. It mutates, and is idempotent by the
// step's key (see idempotency.go).
func (h *helpdesk) addNote(ctx context.Context, call *sdk.Call, in NoteInput) (CommentOutput, error) {
	return h.comment(ctx, call, in.TicketID, in.Body, false, "")
}

// reply is helpdesk.reply: a public comment, the customer receives it.
// It mutates, and is idempotent by the step's key.
func (h *helpdesk) reply(ctx context.Context, call *sdk.Call, in ReplyInput) (CommentOutput, error) {
	return h.comment(ctx, call, in.TicketID, in.Body, true, in.Status)
}

func (h *helpdesk) comment(ctx context.Context, call *sdk.Call, ticket int64, body string, public bool, status string) (CommentOutput, error) {
	what := "an internal note"
	if public {
		what = "a public reply"
	}
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return CommentOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.body is empty: nothing to post as %s", what)
	case utf8.RuneCountInString(body) > maxBody:
		return CommentOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.body has %d characters, more than the %d a comment may have", utf8.RuneCountInString(body), maxBody)
	case call.IdempotencyKey == "":
		return CommentOutput{}, sdk.Error(sdk.CodeInvalidInput, "no idempotency key: refusing to post %s on ticket %d, a retry could post it twice", what, ticket)
	}
	ref := reference(call.IdempotencyKey)
	call.Infof("posting %s on ticket %d (%s, reference %s)", what, ticket, h.backend.name(), ref)
	out, err := h.backend.comment(ctx, call, commentRequest{ticketID: ticket, body: withReference(body, ref), ref: ref, public: public, status: status})
	if err != nil {
		return CommentOutput{}, err
	}
	out.TicketID, out.Public, out.Reference, out.Backend = ticket, public, ref, h.backend.name()
	if out.Posted {
		call.Infof("posted comment %d on ticket %d", out.CommentID, ticket)
	} else {
		call.Warnf("ticket %d already has comment %d with reference %s: not posted again", ticket, out.CommentID, ref)
	}
	return out, nil
}

// UpdateInput is the with of helpdesk.update_ticket.
type UpdateInput struct {
	TicketID   int64    `json:"ticket_id" min:"1" desc:"the ticket's number"`
	AddTags    []string `json:"add_tags,omitempty" pattern:"^[a-z0-9][a-z0-9_:./-]{0,79}$" desc:"tags to add (the others stay)"`
	RemoveTags []string `json:"remove_tags,omitempty" pattern:"^[a-z0-9][a-z0-9_:./-]{0,79}$" desc:"tags to remove"`
	Status     string   `json:"status,omitempty" enum:"open,pending,hold,solved" desc:"the new status (default: unchanged)"`
}

// UpdateOutput is what helpdesk.update_ticket returns.
type UpdateOutput struct {
	TicketID int64    `json:"ticket_id"`
	Tags     []string `json:"tags" desc:"the ticket's tags afterwards"`
	Status   string   `json:"status" desc:"the ticket's status afterwards"`
	Backend  string   `json:"backend" enum:"sandbox,zendesk"`
}

// updateTicket is helpdesk.update_ticket. Adding a tag it has, removing
// one it has not, and setting the status it has change nothing: the same
// request twice has the effect of once.
func (h *helpdesk) updateTicket(ctx context.Context, call *sdk.Call, in UpdateInput) (UpdateOutput, error) {
	if len(in.AddTags) == 0 && len(in.RemoveTags) == 0 && in.Status == "" {
		return UpdateOutput{}, sdk.Error(sdk.CodeInvalidInput, "nothing to update on ticket %d: give add_tags, remove_tags or status", in.TicketID)
	}
	for _, t := range in.AddTags {
		for _, r := range in.RemoveTags {
			if t == r {
				return UpdateOutput{}, sdk.Error(sdk.CodeInvalidInput, "tag %q is both added and removed", t)
			}
		}
	}
	call.Infof("updating ticket %d (%s): add %v, remove %v, status %s", in.TicketID, h.backend.name(), in.AddTags, in.RemoveTags, orWord(in.Status, "unchanged"))
	out, err := h.backend.update(ctx, call, in)
	if err != nil {
		return UpdateOutput{}, err
	}
	out.TicketID, out.Backend = in.TicketID, h.backend.name()
	if out.Tags == nil {
		out.Tags = []string{}
	}
	return out, nil
}

func orWord(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
