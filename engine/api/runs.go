package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// StartRequest is the body of POST /runs.
type StartRequest struct {
	Runbook string         `json:"runbook"`
	Inputs  map[string]any `json:"inputs,omitempty"`
	DryRun  bool           `json:"dry_run,omitempty"`
}

// Started answers a request that started or continued a run in the
// background: its id, and where to follow it.
type Started struct {
	ID      string `json:"id"`
	Runbook string `json:"runbook"`
	Status  string `json:"status"`
	Events  string `json:"events"`
}

// startRun starts a run in the background and answers 202 once its
// run.started record is written.
func (s *Server) startRun(w http.ResponseWriter, r *http.Request) {
	if _, err := principal(r); err != nil {
		s.problem(w, r, err)
		return
	}
	var req StartRequest
	if err := readJSON(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	if req.Runbook == "" {
		s.problem(w, r, &problemError{status: http.StatusUnprocessableEntity, slug: "invalid-request", title: "Invalid request",
			detail: "runbook is required", errors: []FieldError{{Path: "runbook", Message: "is required"}}})
		return
	}
	p, err := s.require(r, auth.Operator, req.Runbook)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	doc, err := s.cfg.Resolve(req.Runbook)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	plan := s.cfg.Runs.Prepare(doc, s.cfg.Redact())
	if err := plan.Err(); err != nil {
		s.problem(w, r, err)
		return
	}
	if _, errs := engine.CheckInputs(plan.Runbook, req.Inputs); len(errs) > 0 {
		s.problem(w, r, &engine.InputsError{Errors: errs})
		return
	}
	sreq := runs.StartRequest{Inputs: req.Inputs, Actor: p.Subject, DryRun: req.DryRun, Trigger: &journal.Trigger{Kind: "api"}}
	id, err := s.background(r.Context(), func(ctx context.Context, progress engine.Sink) error {
		sreq.Progress = progress
		_, err := s.cfg.Runs.Start(ctx, plan, sreq)
		return err
	})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if id != "" {
		s.accepted(w, Started{ID: id, Runbook: plan.Runbook.Name, Status: string(engine.StatusRunning)})
	}
}

// background executes a run in the background and returns its id once
// its first record is written (see runs.Background.Launch); "" and no
// error when the client left first (the run goes on).
func (s *Server) background(ctx context.Context, execute func(ctx context.Context, progress engine.Sink) error) (string, error) {
	id, err := s.bg.Launch(ctx, execute)
	if err != nil && ctx.Err() != nil {
		return "", nil
	}
	return id, err
}

func (s *Server) accepted(w http.ResponseWriter, st Started) {
	st.Events = Prefix + "/runs/" + st.ID + "/events"
	w.Header().Set("Location", Prefix+"/runs/"+st.ID)
	writeJSON(w, http.StatusAccepted, st)
}

// RunList is a page of GET /runs.
type RunList struct {
	Runs []runs.Summary `json:"runs"`
	// NextCursor, when set, asks for the next page (?cursor=); the
	// pages stay the same whatever runs start meanwhile.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Listing bounds.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := runs.Filter{Runbook: q.Get("runbook"), Status: q.Get("status"), Actor: q.Get("actor"), IDPrefix: q.Get("id_prefix"),
		Limit: DefaultLimit}
	if _, err := s.require(r, auth.Viewer, f.Runbook); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := listFilter(q.Get("since"), q.Get("limit"), q.Get("cursor"), &f); err != nil {
		s.problem(w, r, err)
		return
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	out := RunList{Runs: []runs.Summary{}}
	err := s.cfg.Runs.List(r.Context(), f, func(sum runs.Summary) error {
		out.Runs = append(out.Runs, sum)
		return nil
	})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if len(out.Runs) > limit {
		out.Runs = out.Runs[:limit]
		last := out.Runs[limit-1]
		out.NextCursor = encodeCursor(journal.RunPosition{StartedAt: last.StartedAt, ID: last.ID})
	}
	writeJSON(w, http.StatusOK, out)
}

func listFilter(since, limit, cursor string, f *runs.Filter) error {
	if since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			return &problemError{status: http.StatusBadRequest, slug: "bad-request", title: "Bad request",
				detail: "since: not an RFC 3339 time", errors: []FieldError{{Path: "since", Message: "is not an RFC 3339 time (2026-11-21T10:15:02Z)"}}}
		}
		f.Since = t
	}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > MaxLimit {
			return &problemError{status: http.StatusBadRequest, slug: "bad-request", title: "Bad request",
				detail: fmt.Sprintf("limit: want 1 to %d", MaxLimit), errors: []FieldError{{Path: "limit", Message: fmt.Sprintf("must be an integer from 1 to %d", MaxLimit)}}}
		}
		f.Limit = n
	}
	if cursor != "" {
		pos, err := decodeCursor(cursor)
		if err != nil {
			return &problemError{status: http.StatusBadRequest, slug: "bad-request", title: "Bad request",
				detail: "cursor: not a cursor this API gave", errors: []FieldError{{Path: "cursor", Message: "is not a next_cursor this API returned"}}}
		}
		f.After = &pos
	}
	return nil
}

// cursor is the opaque position of a page's last run.
type cursor struct {
	T  time.Time `json:"t"`
	ID string    `json:"id"`
}

func encodeCursor(p journal.RunPosition) string {
	b, _ := json.Marshal(cursor{T: p.StartedAt, ID: p.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (journal.RunPosition, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return journal.RunPosition{}, err
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || c.T.IsZero() {
		return journal.RunPosition{}, fmt.Errorf("api: bad cursor")
	}
	return journal.RunPosition{StartedAt: c.T, ID: c.ID}, nil
}

// runFor returns the run id names, once the principal is known to hold
// role on its runbook.
func (s *Server) runFor(r *http.Request, role auth.Role) (*runs.Run, auth.Principal, error) {
	p, err := principal(r)
	if err != nil {
		return nil, p, err
	}
	run, err := s.cfg.Runs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, p, err
	}
	return run, p, p.Require(role, run.State.Run.Runbook)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, _, err := s.runFor(r, auth.Viewer)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runs.NewDocument(run.State))
}

// CancelRequest is the body of POST /runs/{id}/cancel.
type CancelRequest struct {
	Comment string `json:"comment,omitempty"`
	// Inputs are the run's secret inputs, given again, when the
	// cancellation executes here (its undo may need them).
	Inputs map[string]string `json:"inputs,omitempty"`
}

// Cancelled answers POST /runs/{id}/cancel.
type Cancelled struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	if _, err := principal(r); err != nil {
		s.problem(w, r, err)
		return
	}
	var req CancelRequest
	if err := readJSON(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	run, p, err := s.runFor(r, auth.Operator)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	id := run.State.Run.ID
	c, err := s.cfg.Runs.Cancel(r.Context(), runs.CancelRequest{
		ContinueRequest: runs.ContinueRequest{RunID: id, By: p.Subject, Secrets: req.Inputs, Redact: s.cfg.Redact()},
		Comment:         req.Comment, Wait: 30 * time.Second, Progress: s.cfg.Observe})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Cancelled{ID: id, Status: c.Status})
}

// ResumeRequest is the body of POST /runs/{id}/resume.
type ResumeRequest struct {
	// Inputs are the run's secret inputs, given again: the journal
	// never keeps them.
	Inputs map[string]string `json:"inputs,omitempty"`
}

func (s *Server) resumeRun(w http.ResponseWriter, r *http.Request) {
	if _, err := principal(r); err != nil {
		s.problem(w, r, err)
		return
	}
	var req ResumeRequest
	if err := readJSON(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	run, p, err := s.runFor(r, auth.Operator)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	c, err := s.cfg.Runs.Continue(r.Context(), runs.ContinueRequest{RunID: run.State.Run.ID, By: p.Subject, Secrets: req.Inputs, Redact: s.cfg.Redact()})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if _, err := s.goOn(r.Context(), c); err != nil {
		s.problem(w, r, err)
		return
	}
	s.accepted(w, Started{ID: run.State.Run.ID, Runbook: run.State.Run.Runbook, Status: string(engine.StatusRunning)})
}

// goOn executes a continued run in the background, once its run.resumed
// record is written (see background).
func (s *Server) goOn(ctx context.Context, c *runs.Continuation) (string, error) {
	return s.background(ctx, func(ctx context.Context, progress engine.Sink) error {
		_, err := c.Run(ctx, progress)
		return err
	})
}
