package api

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// Runbook is a runbook as the API lists it.
type Runbook struct {
	Name        string   `json:"name"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Problems counts the runbook's problems: one with problems is
	// listed, but does not run.
	Problems int     `json:"problems"`
	Inputs   []Input `json:"inputs"`
	// Steps are the ids of its steps, then of its on_failure steps:
	// what a client following its runs lines up (steward --server run).
	Steps     []string          `json:"steps,omitempty"`
	Schedules []RunbookSchedule `json:"schedules"`
	Source    RunbookSource     `json:"source"`
}

// Input is a runbook's input.
type Input struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Default     any      `json:"default,omitempty"`
	Enum        []any    `json:"enum,omitempty"`
	Pattern     string   `json:"pattern,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Secret      bool     `json:"secret"`
	Description string   `json:"description,omitempty"`
}

// RunbookSchedule is one entry of a runbook's schedule:.
type RunbookSchedule struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone,omitempty"`
}

// RunbookSource says where a runbook comes from.
type RunbookSource struct {
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Commit  string `json:"commit,omitempty"`
	Bundled bool   `json:"bundled"`
	// Hides are the files of the same name the name no longer finds.
	Hides []string `json:"hides,omitempty"`
}

// RunbookList is the answer of GET /runbooks.
type RunbookList struct {
	Runbooks []Runbook `json:"runbooks"`
}

func runbookOf(e *runbooks.Entry) Runbook {
	rb := e.Runbook
	d := Runbook{Name: e.Name, Problems: e.Problems, Inputs: []Input{}, Schedules: []RunbookSchedule{},
		Source: RunbookSource{File: e.Doc.File, SHA256: e.Doc.SHA256, Commit: e.Doc.Commit(), Bundled: e.Bundled, Hides: e.Hides}}
	if rb == nil {
		return d
	}
	d.Title, d.Description, d.Owner, d.Tags = rb.Title, rb.Description, rb.Owner, rb.Tags
	for _, in := range rb.Inputs {
		i := Input{Name: in.Name, Type: string(in.Type), Required: in.Required, Enum: in.Enum, Min: in.Min, Max: in.Max,
			Secret: in.Secret, Description: in.Description}
		if i.Type == "" {
			i.Type = string(schema.TypeString)
		}
		if in.HasDefault && !in.Secret {
			i.Default = in.Default
		}
		if in.Pattern != nil {
			i.Pattern = in.Pattern.String()
		}
		d.Inputs = append(d.Inputs, i)
	}
	for _, st := range append(append([]*schema.Step(nil), rb.Steps...), rb.OnFailure...) {
		d.Steps = append(d.Steps, st.ID)
	}
	for _, sc := range rb.Schedule {
		d.Schedules = append(d.Schedules, RunbookSchedule{Cron: sc.Cron, Timezone: sc.Timezone})
	}
	return d
}

// listRunbooks lists the runbooks the principal may view.
func (s *Server) listRunbooks(w http.ResponseWriter, r *http.Request) {
	p, err := principal(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list, err := s.cfg.Runbooks()
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := RunbookList{Runbooks: []Runbook{}}
	for _, e := range list {
		if p.Can(auth.Viewer, e.Name) {
			out.Runbooks = append(out.Runbooks, runbookOf(e))
		}
	}
	sort.Slice(out.Runbooks, func(i, j int) bool { return out.Runbooks[i].Name < out.Runbooks[j].Name })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRunbook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := s.require(r, auth.Viewer, name); err != nil {
		s.problem(w, r, err)
		return
	}
	list, err := s.cfg.Runbooks()
	if err != nil {
		s.problem(w, r, err)
		return
	}
	for _, e := range list {
		if e.Name == name {
			writeJSON(w, http.StatusOK, runbookOf(e))
			return
		}
	}
	s.problem(w, r, &problemError{status: http.StatusNotFound, slug: "runbook-not-found", title: "Runbook not found",
		detail: "no runbook named " + strconv.Quote(name)})
}

// principal is who makes the request: the principal Authenticate put in
// its context.
func principal(r *http.Request) (auth.Principal, error) {
	p, ok := auth.From(r.Context())
	if !ok || p.Subject == "" {
		return auth.Principal{}, errUnauthenticated
	}
	return p, nil
}

var errUnauthenticated = &problemError{status: http.StatusUnauthorized, slug: "unauthenticated", title: "Unauthenticated",
	detail: "the request carries no identity"}

// require returns the principal when it holds role on runbook ("" for
// the service as a whole), else an error answering 401 or 403.
func (s *Server) require(r *http.Request, role auth.Role, runbook string) (auth.Principal, error) {
	p, err := principal(r)
	if err != nil {
		return p, err
	}
	return p, p.Require(role, runbook)
}
