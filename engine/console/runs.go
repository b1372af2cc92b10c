package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// PageSize is how many runs a page of the runs list shows.
const PageSize = 50

// runFilter is the runs list's filters, from the query.
type runFilter struct {
	Runbook, Status, Actor, Since string
}

// cursor encodes a run's place in the listing: the next page starts
// after it (journal.Filter.After), fast at any depth.
func encodeCursor(r journal.Run) string {
	return base64.RawURLEncoding.EncodeToString([]byte(r.StartedAt.UTC().Format(time.RFC3339Nano) + "|" + r.ID))
}

func decodeCursor(s string) (*journal.RunPosition, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return nil, errors.New("console: bad cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return nil, err
	}
	return &journal.RunPosition{StartedAt: t, ID: id}, nil
}

// Statuses a run may have, for the status filter.
var runStatuses = []string{"running", "waiting", "succeeded", "failed", "cancelled", runs.StatusInterrupted}

func (c *Console) runList(w http.ResponseWriter, r *http.Request, p *page) {
	if err := p.Who.Require(auth.Viewer, ""); err != nil {
		c.forbidden(w, p, err)
		return
	}
	q := r.URL.Query()
	f := runFilter{Runbook: q.Get("runbook"), Status: q.Get("status"), Actor: q.Get("actor"), Since: q.Get("since")}
	jf := runs.Filter{Runbook: f.Runbook, Status: f.Status, Actor: f.Actor, Limit: PageSize + 1}
	if f.Since != "" {
		t, err := time.Parse("2006-01-02", f.Since)
		if err != nil {
			c.fail(w, p, http.StatusBadRequest, p.T("runs.badsince"))
			return
		}
		jf.Since = t
	}
	if a := q.Get("after"); a != "" {
		pos, err := decodeCursor(a)
		if err != nil {
			c.fail(w, p, http.StatusBadRequest, p.T("runs.badcursor"))
			return
		}
		jf.After = pos
	}
	var list []runs.Summary
	err := c.cfg.Runs.List(r.Context(), jf, func(s runs.Summary) error {
		list = append(list, s)
		return nil
	})
	if err != nil {
		c.fail(w, p, http.StatusInternalServerError, errorText(err))
		return
	}
	next := ""
	if len(list) > PageSize {
		list = list[:PageSize]
		v := r.URL.Query()
		v.Set("after", encodeCursor(list[PageSize-1].Run))
		next = "/runs?" + v.Encode()
	}
	p.Title, p.Nav = p.T("nav.runs"), "runs"
	p.Data = struct {
		Filter   runFilter
		Statuses []string
		Runs     []runs.Summary
		Next     string
		First    bool
	}{f, runStatuses, list, next, q.Get("after") == ""}
	c.render(w, "runs", p)
}

// stepView is a step of a run's timeline.
type stepView struct {
	*engine.StepResult
	Attempts []attemptView
	Logs     []string
	With     string
	Output   string
	// Decide: the person may decide it (buttons), else Refused says why.
	Decide  bool
	Refused string
	SubRun  string
}

type attemptView struct {
	N        int64
	Status   string
	Duration string
	Error    string
	started  time.Time
}

// since is the time from start to end, rounded; "" without a start.
func since(start, end time.Time) string {
	if start.IsZero() {
		return ""
	}
	return end.Sub(start).Round(time.Millisecond).String()
}

// runView is a run's page.
type runView struct {
	Run       journal.Run
	Status    string
	Live      bool
	Terminal  bool
	Origin    journal.Origin
	Inputs    string
	Outputs   string
	Error     *engine.ErrorInfo
	Steps     []*stepView
	Approvals []*journal.Decision
	Secrets   []string // secret inputs to give again to decide
	CanCancel bool
	Children  []string
}

func (c *Console) runPage(w http.ResponseWriter, r *http.Request, p *page) {
	v, status, err := c.runView(r.Context(), r.PathValue("id"), p.Who)
	if err != nil {
		c.fail(w, p, status, err.Error())
		return
	}
	p.Title, p.Nav, p.Data = v.Run.ID, "runs", v
	c.render(w, "run", p)
}

// runView loads a run for who.
func (c *Console) runView(ctx context.Context, id string, who auth.Principal) (*runView, int, error) {
	run, err := c.cfg.Runs.Get(ctx, id)
	if errors.Is(err, runs.ErrNotFound) {
		return nil, http.StatusNotFound, fmt.Errorf("no run %s", id)
	}
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	st := run.State
	if err := who.Require(auth.Viewer, st.Run.Runbook); err != nil {
		return nil, http.StatusForbidden, err
	}
	v := &runView{Run: st.Run, Status: st.Run.Status, Live: run.Live, Terminal: st.Terminal(), Origin: st.Origin,
		Inputs: jsonText(st.Inputs), Error: st.Error, Approvals: st.Decisions}
	if len(st.Outputs) > 0 {
		v.Outputs = jsonText(st.Outputs)
	}
	v.CanCancel = !v.Terminal && st.Run.Parent == "" && who.Can(auth.Operator, st.Run.Runbook)
	for k, val := range st.Inputs {
		if val == "***" {
			v.Secrets = append(v.Secrets, k)
		}
	}
	sort.Strings(v.Secrets)
	details := stepDetails(st.Records)
	for _, s := range st.Steps {
		sv := &stepView{StepResult: s}
		if d := details[s.ID+"/"+string(s.Phase)]; d != nil {
			sv.Attempts, sv.Logs, sv.With = d.attempts, d.logs, d.with
		}
		if s.Outputs != nil {
			sv.Output = jsonText(s.Outputs)
		}
		if s.Action == "core.runbook" {
			sv.SubRun = st.Run.ID + "." + s.ID
		}
		if s.Status == engine.StatusWaiting {
			err := who.Require(auth.Approver, st.Run.Runbook)
			if err == nil {
				err = c.cfg.Runs.MayDecide(ctx, st.Run.ID, s.ID, who.Subject)
			}
			sv.Decide, sv.Refused = err == nil, errorText(err)
		}
		v.Steps = append(v.Steps, sv)
	}
	return v, http.StatusOK, nil
}

// detail is what the records say of one step beside its result:
// attempts, logs, the resolved with of its last attempt.
type detail struct {
	attempts []attemptView
	logs     []string
	with     string
}

// stepDetails reads each step's attempts and logs from the run's
// records, by STEP/PHASE.
func stepDetails(recs []journal.Record) map[string]*detail {
	out := map[string]*detail{}
	get := func(d *journal.Data) *detail {
		k := d.Step + "/" + string(d.Phase)
		if out[k] == nil {
			out[k] = &detail{}
		}
		return out[k]
	}
	for _, rec := range recs {
		switch rec.Type {
		case string(engine.AttemptStarted), string(engine.AttemptFailed), string(engine.StepFinished), string(engine.StepLog):
		default:
			continue
		}
		d, err := rec.Decode()
		if err != nil || d.Step == "" {
			continue
		}
		dt := get(d)
		last := func() *attemptView {
			if len(dt.attempts) == 0 {
				dt.attempts = append(dt.attempts, attemptView{N: 1})
			}
			return &dt.attempts[len(dt.attempts)-1]
		}
		switch rec.Type {
		case string(engine.AttemptStarted):
			dt.attempts = append(dt.attempts, attemptView{N: int64(d.Attempt), Status: "running", started: rec.Time})
			if d.With != nil {
				dt.with = jsonText(d.With)
			}
		case string(engine.AttemptFailed):
			a := last()
			a.Status, a.Duration = "failed", since(a.started, rec.Time)
			if d.Error != nil {
				a.Error = d.Error.Message
			}
		case string(engine.StepFinished):
			if len(dt.attempts) > 0 {
				a := last()
				if a.Status == "running" {
					a.Status, a.Duration = string(d.Status), since(a.started, rec.Time)
					if d.Error != nil {
						a.Error = d.Error.Message
					}
				}
			}
		case string(engine.StepLog):
			dt.logs = append(dt.logs, d.Message)
		}
	}
	return out
}

// jsonText is v as indented JSON (already redacted: the journal holds
// no secret).
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

// runStream is the run's live timeline as Server-Sent Events: a
// "timeline" event with the rendered steps at once and after each new
// record, and "end" when the run has ended (the page then closes the
// stream). A run that waits stays followed: a decision goes on with it.
func (c *Console) runStream(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	fl, ok := w.(http.Flusher)
	if !ok {
		c.fail(w, p, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-c.ctx.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	send := func() (terminal bool, err error) {
		v, _, err := c.runView(ctx, id, p.Who)
		if err != nil {
			return false, err
		}
		p.Data = v
		var b bytes.Buffer
		if err := c.pages["run"].ExecuteTemplate(&b, "timeline", p); err != nil {
			return false, err
		}
		writeEvent(w, "timeline", b.String())
		fl.Flush()
		return v.Terminal, nil
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	// The last record first, then the timeline as it is: a record
	// written in between is rendered again, never missed.
	var after int64
	if err := c.cfg.Runs.Events(ctx, id, 0, false, 0, func(rec journal.Record) error { after = rec.Seq; return nil }); err != nil {
		writeEvent(w, "end", "")
		return
	}
	terminal, err := send()
	if err != nil {
		writeEvent(w, "end", "")
		return
	}
	for !terminal {
		err := c.cfg.Runs.Events(ctx, id, after, true, c.cfg.Poll, func(rec journal.Record) error {
			after = rec.Seq
			var err error
			terminal, err = send()
			return err
		})
		if err != nil || ctx.Err() != nil {
			return
		}
	}
	writeEvent(w, "end", "")
	fl.Flush()
}

// writeEvent writes one Server-Sent Event: each line of data a data:
// line.
func writeEvent(w http.ResponseWriter, event, data string) {
	var b strings.Builder
	b.WriteString("event: " + event + "\n")
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + strings.TrimRight(line, "\r") + "\n")
	}
	b.WriteString("\n")
	_, _ = w.Write([]byte(b.String()))
}

// decide records the person's decision on a waiting step, by the run
// service's rules, and goes on with the run in the background.
func (c *Console) decide(w http.ResponseWriter, r *http.Request, p *page) {
	id, step := r.PathValue("id"), r.PostFormValue("step")
	run, err := c.cfg.Runs.Get(r.Context(), id)
	if err != nil {
		c.fail(w, p, http.StatusNotFound, errorText(err))
		return
	}
	if err := p.Who.Require(auth.Approver, run.State.Run.Runbook); err != nil {
		c.forbidden(w, p, err)
		return
	}
	secrets := map[string]string{}
	for k, vs := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "secret."); ok && len(vs) > 0 {
			secrets[name] = vs[0]
		}
	}
	approved := r.PostFormValue("decision") == "approve"
	// Who may decide first: a refusal needs no secret input given again.
	err = c.cfg.Runs.MayDecide(r.Context(), id, step, p.Who.Subject)
	var cont *runs.Continuation
	if err == nil {
		cont, err = c.cfg.Runs.Continue(r.Context(), runs.ContinueRequest{RunID: id, By: p.Who.Subject, Secrets: secrets,
			Redact: c.cfg.Redact(), Deciding: step})
	}
	if err == nil {
		_, err = cont.Decide(r.Context(), runs.DecideRequest{Step: step, Approved: approved, By: p.Who.Subject, Comment: r.PostFormValue("comment")})
		var expired *runs.ExpiredError
		if err == nil || errors.As(err, &expired) {
			// Go on: with the decision, or with the step failing.
			if _, gerr := c.cfg.Background.Launch(r.Context(), func(ctx context.Context, progress engine.Sink) error {
				_, err := cont.Run(ctx, progress)
				return err
			}); gerr != nil && err == nil {
				err = gerr
			}
		}
	}
	if err != nil {
		var refused *runs.RefusedError
		status := http.StatusConflict
		if errors.As(err, &refused) {
			status = http.StatusForbidden
		}
		w.WriteHeader(status)
		p.Error = p.T("run.refused", errorText(err))
		v, _, verr := c.runView(r.Context(), id, p.Who)
		if verr != nil {
			c.render(w, "error", p)
			return
		}
		p.Title, p.Nav, p.Data = id, "runs", v
		c.render(w, "run", p)
		return
	}
	http.Redirect(w, r, "/runs/"+id, http.StatusSeeOther)
}

// cancelRun cancels a run, by the run service.
func (c *Console) cancelRun(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	run, err := c.cfg.Runs.Get(r.Context(), id)
	if err != nil {
		c.fail(w, p, http.StatusNotFound, errorText(err))
		return
	}
	if err := p.Who.Require(auth.Operator, run.State.Run.Runbook); err != nil {
		c.forbidden(w, p, err)
		return
	}
	_, err = c.cfg.Runs.Cancel(r.Context(), runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: id, By: p.Who.Subject,
		Redact: c.cfg.Redact()}, Comment: r.PostFormValue("comment"), Wait: 10 * time.Second})
	if err != nil {
		c.fail(w, p, http.StatusConflict, errorText(err))
		return
	}
	http.Redirect(w, r, "/runs/"+id, http.StatusSeeOther)
}

// inboxItem is a waiting step in the approvals inbox.
type inboxItem struct {
	Run     journal.Run
	Step    string
	Message string
	Since   time.Time
	Refused string
}

// approvals is the inbox: the steps waiting for a decision, those the
// person may decide first, the others with the run service's reason.
func (c *Console) approvals(w http.ResponseWriter, r *http.Request, p *page) {
	var waiting []runs.Summary
	err := c.cfg.Runs.List(r.Context(), runs.Filter{Status: string(engine.StatusWaiting), Limit: 500}, func(s runs.Summary) error {
		waiting = append(waiting, s)
		return nil
	})
	if err != nil {
		c.fail(w, p, http.StatusInternalServerError, errorText(err))
		return
	}
	var mine, others []inboxItem
	for _, s := range waiting {
		if !p.Who.Can(auth.Viewer, s.Runbook) {
			continue
		}
		run, err := c.cfg.Runs.Get(r.Context(), s.ID)
		if err != nil {
			continue
		}
		for _, wt := range run.State.Waiting {
			it := inboxItem{Run: run.State.Run, Step: wt.Step, Message: wt.Message, Since: wt.Since}
			err := p.Who.Require(auth.Approver, s.Runbook)
			if err == nil {
				err = c.cfg.Runs.MayDecide(r.Context(), s.ID, wt.Step, p.Who.Subject)
			}
			if err != nil {
				it.Refused = errorText(err)
				others = append(others, it)
				continue
			}
			mine = append(mine, it)
		}
	}
	p.Title, p.Nav = p.T("nav.approvals"), "approvals"
	p.Data = struct{ Mine, Others []inboxItem }{mine, others}
	c.render(w, "approvals", p)
}
