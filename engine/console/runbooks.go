package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// runbookRow is a runbook in the catalogue.
type runbookRow struct {
	Name, Title, Description, Source, Commit string
	Tags                                     []string
	Problems                                 int
}

func (c *Console) runbookList(w http.ResponseWriter, r *http.Request, p *page) {
	list, err := c.runbookEntries()
	if err != nil {
		c.fail(w, p, http.StatusInternalServerError, err.Error())
		return
	}
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	var rows []runbookRow
	for _, e := range list {
		if !p.Who.Can(auth.Viewer, e.Name) {
			continue
		}
		row := runbookRow{Name: e.Name, Source: e.Doc.File, Commit: e.Doc.Commit(), Problems: e.Problems}
		if rb := e.Runbook; rb != nil {
			row.Title, row.Description, row.Tags = rb.Title, rb.Description, rb.Tags
		}
		hay := strings.ToLower(strings.Join(append([]string{row.Name, row.Title, row.Description}, row.Tags...), " "))
		if q != "" && !strings.Contains(hay, q) {
			continue
		}
		rows = append(rows, row)
	}
	p.Title, p.Nav = p.T("nav.runbooks"), "runbooks"
	p.Data = struct {
		Q    string
		Rows []runbookRow
	}{r.URL.Query().Get("q"), rows}
	c.render(w, "runbooks", p)
}

// field is one input of a runbook's form.
type field struct {
	Name, Label, Description string
	// Kind is the control: text, password, number, select, textarea.
	Kind     string
	Required bool
	Pattern  string
	Step     string
	Min, Max string
	Options  []string
	Value    string // never for a secret
	Error    string
}

// form is a runbook's run form.
type runForm struct {
	Runbook  runbookRow
	Fields   []field
	CanRun   bool
	Problems []string
}

func (c *Console) resolve(name string) (*runbooks.Document, error) { return c.cfg.Resolve(name) }

func (c *Console) runbookPage(w http.ResponseWriter, r *http.Request, p *page) {
	name := r.PathValue("name")
	if err := p.Who.Require(auth.Viewer, name); err != nil {
		c.forbidden(w, p, err)
		return
	}
	doc, err := c.resolve(name)
	if err != nil {
		c.fail(w, p, http.StatusNotFound, errorText(err))
		return
	}
	plan := c.cfg.Runs.Prepare(doc, c.cfg.Redact())
	c.renderForm(w, p, doc, plan, nil, nil)
}

// renderForm renders a runbook's page: its form, with the values given
// (never a secret's) and the problems found.
func (c *Console) renderForm(w http.ResponseWriter, p *page, doc *runbooks.Document, plan *runs.Plan, given map[string]string, errs map[string]string) {
	f := runForm{Runbook: runbookRow{Source: doc.File, Commit: doc.Commit()}}
	rb := plan.Runbook
	if rb != nil {
		f.Runbook.Name, f.Runbook.Title, f.Runbook.Description, f.Runbook.Tags = rb.Name, rb.Title, rb.Description, rb.Tags
		for _, in := range rb.Inputs {
			fd := formField(in)
			if v, ok := given[in.Name]; ok && !in.Secret {
				fd.Value = v
			}
			fd.Error = errs[in.Name]
			f.Fields = append(f.Fields, fd)
		}
		f.CanRun = p.Who.Can(auth.Operator, rb.Name)
	}
	for _, d := range plan.Diagnostics {
		f.Problems = append(f.Problems, d.Error())
	}
	if msg := errs[""]; msg != "" {
		p.Error = msg
	}
	p.Title, p.Nav, p.Data = f.Runbook.Name, "runbooks", f
	c.render(w, "runbook", p)
}

// formField is the control of an input.
func formField(in *schema.Input) field {
	f := field{Name: in.Name, Label: in.Name, Description: in.Description, Required: in.Required && !in.HasDefault, Kind: "text"}
	switch {
	case in.Secret:
		f.Kind = "password"
	case len(in.Enum) > 0:
		f.Kind = "select"
		for _, e := range in.Enum {
			f.Options = append(f.Options, fmt.Sprint(e))
		}
	case in.Type == schema.TypeBoolean:
		f.Kind, f.Options = "select", []string{"true", "false"}
	case in.Type == schema.TypeInteger:
		f.Kind, f.Step = "number", "1"
	case in.Type == schema.TypeNumber:
		f.Kind, f.Step = "number", "any"
	case in.Type == schema.TypeArray || in.Type == schema.TypeObject:
		f.Kind = "textarea"
	}
	if in.Min != nil {
		f.Min = fmt.Sprint(*in.Min)
	}
	if in.Max != nil {
		f.Max = fmt.Sprint(*in.Max)
	}
	if in.Pattern != nil && (f.Kind == "text" || f.Kind == "password") {
		f.Pattern = htmlPattern(in.Pattern.String())
	}
	if in.HasDefault && !in.Secret {
		f.Value = fmt.Sprint(in.Default)
		if f.Kind == "textarea" {
			f.Value = jsonText(in.Default)
		}
	}
	return f
}

// htmlPattern is a runbook pattern as an HTML pattern attribute, which
// the browser anchors itself (^(?:…)$, v flag). A pattern the browser
// cannot read is ignored by it; the server checks every input anyway.
func htmlPattern(p string) string {
	if strings.Contains(p, "(?") {
		return "" // Go-only syntax (flags)
	}
	return p
}

// startRun starts a run of the runbook from its form: a run, or a dry
// run, in the background; then the browser goes to the run's page.
func (c *Console) startRun(w http.ResponseWriter, r *http.Request, p *page) {
	name := r.PathValue("name")
	if err := p.Who.Require(auth.Operator, name); err != nil {
		c.forbidden(w, p, err)
		return
	}
	doc, err := c.resolve(name)
	if err != nil {
		c.fail(w, p, http.StatusNotFound, errorText(err))
		return
	}
	plan := c.cfg.Runs.Prepare(doc, c.cfg.Redact())
	if err := plan.Err(); err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		c.renderForm(w, p, doc, plan, nil, map[string]string{"": errorText(err)})
		return
	}
	given := map[string]string{}
	inputs := map[string]any{}
	errs := map[string]string{}
	for _, in := range plan.Runbook.Inputs {
		text := r.PostFormValue("input." + in.Name)
		if in.Type != schema.TypeArray && in.Type != schema.TypeObject {
			text = strings.TrimSpace(text)
		}
		given[in.Name] = text
		if text == "" {
			continue // its default, or a missing required input
		}
		v, err := engine.ParseInput(in, text)
		if err != nil {
			errs[in.Name] = errorText(err)
			continue
		}
		inputs[in.Name] = v
	}
	if len(errs) == 0 {
		if _, ierrs := engine.CheckInputs(plan.Runbook, inputs); len(ierrs) > 0 {
			for _, e := range ierrs {
				errs[e.Input] = e.Message
			}
		}
	}
	if len(errs) > 0 {
		w.WriteHeader(http.StatusUnprocessableEntity)
		p.Error = p.T("run.invalid")
		c.renderForm(w, p, doc, plan, given, errs)
		return
	}
	req := runs.StartRequest{Inputs: inputs, Actor: p.Who.Subject, DryRun: r.PostFormValue("mode") == "dry-run",
		Trigger: &journal.Trigger{Kind: "console"}}
	id, err := c.cfg.Background.Launch(r.Context(), func(ctx context.Context, progress engine.Sink) error {
		req.Progress = progress
		_, err := c.cfg.Runs.Start(ctx, plan, req)
		return err
	})
	var ierr *engine.InputsError
	switch {
	case errors.As(err, &ierr):
		for _, e := range ierr.Errors {
			errs[e.Input] = e.Message
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		c.renderForm(w, p, doc, plan, given, errs)
		return
	case err != nil:
		c.fail(w, p, http.StatusInternalServerError, errorText(err))
		return
	}
	http.Redirect(w, r, "/runs/"+id, http.StatusSeeOther)
}

// contains is slices.Contains for templates.
func contains(list []string, s string) bool { return slices.Contains(list, s) }
