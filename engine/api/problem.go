package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/problem"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// Problem is an error response, RFC 9457 problem details
// (application/problem+json), as every part of steward serve writes it.
type Problem = problem.Problem

// FieldError is one problem of a request's runbook or inputs.
type FieldError = problem.FieldError

// problemError is an error with the problem it answers.
type problemError struct {
	status int
	slug   string
	title  string
	detail string
	errors []FieldError
}

func (e *problemError) Error() string { return e.detail }

// badRequest is a request the API cannot read.
func badRequest(detail string) *problemError {
	return &problemError{status: http.StatusBadRequest, slug: "bad-request", title: "Bad request", detail: detail}
}

// problemOf maps an error of the run service (or of the API) to its
// problem. An error it does not know is a 500 whose detail is not shown.
func problemOf(err error) *problemError {
	var (
		pe        *problemError
		forbidden *auth.ForbiddenError
		refused   *runs.RefusedError
		invalid   *runs.InvalidRunbookError
		inputs    *engine.InputsError
		input     *runs.InputError
		missing   *runs.MissingSecretsError
		busy      *journal.BusyError
		decided   *runs.AlreadyDecidedError
		ended     *runs.EndedError
		expired   *runs.ExpiredError
		sub       *runs.SubRunError
		still     *runs.StillRunningError
		source    *runs.SourceError
		dup       *journal.DuplicateError
		notFound  *runbooks.NotFoundError
		notAName  *runbooks.NotANameError
	)
	p := func(status int, slug, title string) *problemError {
		return &problemError{status: status, slug: slug, title: title, detail: err.Error()}
	}
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &forbidden):
		return p(http.StatusForbidden, "forbidden", "Forbidden")
	case errors.As(err, &refused):
		return p(http.StatusForbidden, "refused", "Decision refused")
	case errors.As(err, &invalid):
		e := p(http.StatusUnprocessableEntity, "invalid-runbook", "Invalid runbook")
		for _, d := range invalid.Diagnostics {
			e.errors = append(e.errors, FieldError{Path: d.Path, Message: d.Message, Hint: d.Hint, File: d.File, Line: d.Line, Column: d.Column})
		}
		return e
	case errors.As(err, &inputs):
		e := p(http.StatusUnprocessableEntity, "invalid-inputs", "Invalid inputs")
		for _, in := range inputs.Errors {
			e.errors = append(e.errors, inputError(in.Input, in.Message, in.Hint))
		}
		return e
	case errors.As(err, &input):
		e := p(http.StatusUnprocessableEntity, "invalid-inputs", "Invalid inputs")
		e.errors = []FieldError{inputError(input.Input, input.Message, "")}
		return e
	case errors.As(err, &missing):
		e := p(http.StatusUnprocessableEntity, "missing-secrets", "Secret inputs needed")
		for _, name := range missing.Inputs {
			e.errors = append(e.errors, inputError(name, "is secret: the journal never keeps it; give it again", ""))
		}
		return e
	case errors.As(err, &notAName):
		e := p(http.StatusUnprocessableEntity, "invalid-request", "Invalid request")
		e.errors = []FieldError{{Path: "runbook", Message: err.Error()}}
		return e
	case errors.As(err, &notFound), errors.Is(err, runbooks.ErrNotFound):
		return p(http.StatusNotFound, "runbook-not-found", "Runbook not found")
	case errors.Is(err, runs.ErrNotFound):
		return p(http.StatusNotFound, "run-not-found", "Run not found")
	case errors.As(err, &busy), errors.Is(err, runs.ErrBusy):
		return p(http.StatusConflict, "busy", "The run is being executed")
	case errors.As(err, &decided):
		return p(http.StatusConflict, "already-decided", "Already decided")
	case errors.As(err, &ended):
		return p(http.StatusConflict, "ended", "The run has ended")
	case errors.As(err, &expired):
		return p(http.StatusConflict, "expired", "The approval timed out")
	case errors.Is(err, runs.ErrNotWaiting):
		return p(http.StatusConflict, "not-waiting", "Nothing to decide")
	case errors.As(err, &sub):
		return p(http.StatusConflict, "sub-run", "A sub-run goes on with its parent")
	case errors.As(err, &still):
		return p(http.StatusConflict, "still-running", "The run still runs")
	case errors.As(err, &source):
		return p(http.StatusConflict, "source-changed", "The run's runbook source was changed")
	case errors.As(err, &dup):
		return p(http.StatusConflict, "duplicate", "Already recorded")
	case errors.Is(err, runs.ErrStopping):
		return p(http.StatusServiceUnavailable, "unavailable", "Shutting down")
	}
	return &problemError{status: http.StatusInternalServerError, slug: "internal", title: "Internal error",
		detail: "the server failed to answer; its log says why"}
}

func inputError(name, msg, hint string) FieldError {
	path := "inputs"
	if name != "" {
		path += "." + name
	}
	return FieldError{Path: path, Message: msg, Hint: hint}
}

// problem answers err as problem+json.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	pe := problemOf(err)
	if pe.status >= 500 && pe.status != http.StatusServiceUnavailable {
		s.cfg.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	problem.Write(w, Problem{Type: problem.Type(pe.slug), Title: pe.title, Status: pe.status,
		Detail: pe.detail, Errors: pe.errors})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON reads a request's JSON body into v: at most 1 MiB, no unknown
// field. An empty body leaves v as it is.
func readJSON(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return badRequest("the request's JSON body: " + err.Error())
	}
	if dec.More() {
		return badRequest("the request's body holds more than one JSON value")
	}
	return nil
}
