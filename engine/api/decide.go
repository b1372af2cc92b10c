package api

import (
	"errors"
	"net/http"

	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/runs"
)

// DecideRequest is the body of POST /runs/{id}/approve and /deny.
type DecideRequest struct {
	Step    string `json:"step"`
	Comment string `json:"comment,omitempty"`
	// Inputs are the run's secret inputs, given again: the run goes on
	// here once decided, and the journal never keeps them.
	Inputs map[string]string `json:"inputs,omitempty"`
}

// Decision answers a recorded decision; the run goes on in the
// background.
type Decision struct {
	ID       string `json:"id"`
	Step     string `json:"step"`
	Approved bool   `json:"approved"`
	By       string `json:"by"`
	Events   string `json:"events"`
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) { s.decide(w, r, true) }
func (s *Server) deny(w http.ResponseWriter, r *http.Request)    { s.decide(w, r, false) }

// decide records the principal's decision on what the run waits for,
// by the rules of the run service (the step's approvers, four eyes,
// timeouts), and goes on with the run in the background.
func (s *Server) decide(w http.ResponseWriter, r *http.Request, approved bool) {
	if _, err := principal(r); err != nil {
		s.problem(w, r, err)
		return
	}
	var req DecideRequest
	if err := readJSON(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	if req.Step == "" {
		s.problem(w, r, &problemError{status: http.StatusUnprocessableEntity, slug: "invalid-request", title: "Invalid request",
			detail: "step is required", errors: []FieldError{{Path: "step", Message: "is required"}}})
		return
	}
	run, p, err := s.runFor(r, auth.Approver)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	id := run.State.Run.ID
	c, err := s.cfg.Runs.Continue(r.Context(), runs.ContinueRequest{RunID: id, By: p.Subject, Secrets: req.Inputs,
		Redact: s.cfg.Redact(), Deciding: req.Step})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	d, err := c.Decide(r.Context(), runs.DecideRequest{Step: req.Step, Approved: approved, By: p.Subject, Comment: req.Comment})
	var expired *runs.ExpiredError
	if errors.As(err, &expired) {
		// Nothing is recorded; the run goes on, and the step fails, as
		// after steward approve.
		if _, gerr := s.goOn(r.Context(), c); gerr != nil {
			err = gerr
		}
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if _, err := s.goOn(r.Context(), c); err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Decision{ID: id, Step: d.Step, Approved: d.Approved, By: d.By, Events: Prefix + "/runs/" + id + "/events"})
}
