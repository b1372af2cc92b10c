package main

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// The sandbox answers from fixture tickets, one per situation the
// triage-ticket runbook meets, in English and Simplified Chinese, with
// ids that the payments and evm sandboxes know. It needs no network and
// no token. It remembers, per process, the comments, tags and statuses it
// was asked for, and finds a comment's reference as Zendesk would.
// docs/plugins-helpdesk.md has the table.

// sandboxTicket is a fixture: the ticket, its requester and its
// category (the custom field "category" of the docs' example settings).
type sandboxTicket struct {
	ticket   Ticket
	category string
}

// sandboxAgent is the author id of the comments the sandbox posts.
const sandboxAgent = 900001

func sandboxTickets() map[int64]*sandboxTicket {
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }
	mk := func(id int64, category, subject, description string, req Requester, channel string, created time.Time) *sandboxTicket {
		return &sandboxTicket{category: category, ticket: Ticket{ID: id, Subject: subject, Description: description, Status: "new",
			Priority: "normal", Type: "question", Tags: []string{}, Channel: channel, Requester: req, CreatedAt: created, UpdatedAt: created,
			URL: "https://sandbox.zendesk.invalid/agent/tickets/" + itoa(id)}}
	}
	ana := Requester{ID: 7001, Name: "Ana Silva", Locale: "en-US"}
	wang := Requester{ID: 7002, Name: "王芳", Locale: "zh-CN"}
	bruno := Requester{ID: 7003, Name: "Bruno Costa", Locale: "en-GB"}
	li := Requester{ID: 7004, Name: "李雷", Locale: "zh-CN"}
	dana := Requester{ID: 7005, Name: "Dana Kim", Locale: "en-US"}
	tickets := []*sandboxTicket{
		mk(1001, "card_payment", "Card payment failed",
			"Hi, my card payment for a wallet top-up failed this morning. The app shows payment pi_sandbox_insufficient_funds. Can you check what happened?",
			ana, "email", at(20, 9, 2)),
		mk(1002, "", "银行卡付款失败",
			"你好，我今天早上用银行卡给钱包充值，付款失败了，付款编号 pi_sandbox_expired_card。请帮我看看是什么原因。",
			wang, "web", at(20, 9, 30)),
		mk(1003, "", "My transaction is stuck",
			"I sent ETH on ethereum two hours ago and it is still pending. Transaction hash: 0x9a909a909a909a909a909a909a909a909a909a909a909a909a909a909a909a90",
			bruno, "email", at(20, 10, 15)),
		mk(1004, "", "转账一直没有到账",
			"我在 polygon 上的转账一直卡住，没有到账。交易哈希：0xde1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1a",
			li, "chat", at(20, 11, 0)),
		mk(1005, "", "How do I change my email address?",
			"Hello, I would like to change the email address on my account. How do I do that?",
			dana, "web", at(20, 11, 40)),
		mk(1006, "card_payment", "Charged twice",
			"I was charged twice for order 10428 (payment pi_sandbox_duplicate). Please refund the extra charge.",
			ana, "email", at(20, 12, 10)),
	}
	out := make(map[int64]*sandboxTicket, len(tickets))
	for _, t := range tickets {
		out[t.ticket.ID] = t
	}
	return out
}

type sandbox struct {
	mu       sync.Mutex
	tickets  map[int64]*sandboxTicket
	comments map[int64][]Comment // posted, oldest first
	nextID   int64
}

func newSandbox() *sandbox {
	return &sandbox{tickets: sandboxTickets(), comments: map[int64][]Comment{}, nextID: 5000001}
}

func (s *sandbox) name() string { return backendSandbox }

func (s *sandbox) get(id int64) (*sandboxTicket, error) {
	t, ok := s.tickets[id]
	if !ok {
		return nil, sdk.Error("not_found", "the sandbox has no ticket %d: its tickets are %s", id, s.ids())
	}
	return t, nil
}

func (s *sandbox) ids() string {
	var ids []string
	for id := range s.tickets {
		ids = append(ids, itoa(id))
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

func (s *sandbox) getTicket(_ context.Context, _ *sdk.Call, id int64) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.get(id)
	if err != nil {
		return Ticket{}, err
	}
	t := st.ticket
	t.Tags = slices.Clone(t.Tags)
	t.Fields = map[string]any{"category": nil}
	if st.category != "" {
		t.Fields["category"] = st.category
	}
	for _, c := range s.comments[id] {
		if c.Public {
			t.LastPublicComment = c
		}
	}
	return t, nil
}

func (s *sandbox) comment(_ context.Context, _ *sdk.Call, req commentRequest) (CommentOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.get(req.ticketID)
	if err != nil {
		return CommentOutput{}, err
	}
	for _, c := range s.comments[req.ticketID] {
		if carries(c.Body, req.ref) {
			return CommentOutput{CommentID: c.ID, Status: st.ticket.Status}, nil
		}
	}
	c := Comment{ID: s.nextID, AuthorID: sandboxAgent, Body: req.body, Public: req.public, CreatedAt: st.ticket.UpdatedAt}
	s.nextID++
	s.comments[req.ticketID] = append(s.comments[req.ticketID], c)
	if req.status != "" {
		st.ticket.Status = req.status
	} else if st.ticket.Status == "new" {
		st.ticket.Status = "open" // as Zendesk does when an agent comments
	}
	return CommentOutput{CommentID: c.ID, Posted: true, Status: st.ticket.Status}, nil
}

func (s *sandbox) update(_ context.Context, _ *sdk.Call, in UpdateInput) (UpdateOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.get(in.TicketID)
	if err != nil {
		return UpdateOutput{}, err
	}
	t := &st.ticket
	for _, tag := range in.AddTags {
		if !slices.Contains(t.Tags, tag) {
			t.Tags = append(t.Tags, tag)
		}
	}
	t.Tags = slices.DeleteFunc(t.Tags, func(tag string) bool { return slices.Contains(in.RemoveTags, tag) })
	sort.Strings(t.Tags) // Zendesk keeps tags sorted
	if in.Status != "" {
		t.Status = in.Status
	}
	return UpdateOutput{Tags: slices.Clone(t.Tags), Status: t.Status}, nil
}
