package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
)

// Schedules is what the console asks of the scheduler (engine/schedule
// in steward serve, adapted there). Pause and Resume record who did it;
// Fire starts a run of the schedule now and returns its id.
type Schedules interface {
	List(ctx context.Context) ([]ScheduleView, error)
	Pause(ctx context.Context, name, by string) error
	Resume(ctx context.Context, name, by string) error
	Fire(ctx context.Context, name, by string) (runID string, err error)
}

// ScheduleView is a schedule as the console shows it.
type ScheduleView struct {
	Name, Runbook, Cron, Timezone string
	Paused                        bool
	PausedBy                      string
	// Next is its next slot; zero when there is none.
	Next time.Time
	// Last is its last fire; nil when it never fired.
	Last *FireView
	// Skipped are its latest skipped slots, newest first, with why.
	Skipped []SkippedSlot
}

// FireView is a schedule's fire: its slot, the run it started, how that
// went.
type FireView struct {
	Slot    time.Time
	RunID   string
	Outcome string
	Manual  bool
}

// SkippedSlot is a slot that started no run, and why (paused, overlap,
// missed while down).
type SkippedSlot struct {
	Slot   time.Time
	Reason string
}

// Plugins is what the console shows of the plugin host (plugins.Host in
// steward serve, adapted there: engine never imports plugins).
type Plugins interface {
	List(ctx context.Context) ([]PluginView, error)
}

// PluginView is a plugin, its lock state and its actions.
type PluginView struct {
	Name, Path string
	// SHA256 is the binary's; Locked its pin in the lock file, "" when
	// not pinned. LockState says it in a word, as plugins.LockState:
	// pinned, unpinned, changed.
	SHA256, Locked, LockState string
	Error                     string
	Actions                   []ActionView
}

// ActionView is one action of a plugin.
type ActionView struct {
	Name, Description   string
	Mutates, Idempotent bool
}

// Audit is what the audit page offers beside verifying the store:
// signed checkpoints (steward audit checkpoint).
type Audit interface {
	// Checkpoint signs the journal's last record now and returns the
	// checkpoint's line (docs/audit.md).
	Checkpoint(ctx context.Context) ([]byte, error)
	// KeyID names the signing key, for the page.
	KeyID() string
}

func (c *Console) schedules(w http.ResponseWriter, r *http.Request, p *page) {
	var list []ScheduleView
	if c.cfg.Schedules != nil {
		all, err := c.cfg.Schedules.List(r.Context())
		if err != nil {
			c.fail(w, p, http.StatusInternalServerError, errorText(err))
			return
		}
		for _, s := range all {
			if p.Who.Can(auth.Viewer, s.Runbook) {
				list = append(list, s)
			}
		}
	}
	p.Title, p.Nav = p.T("nav.schedules"), "schedules"
	p.Data = struct {
		Enabled   bool
		Schedules []ScheduleView
	}{c.cfg.Schedules != nil, list}
	c.render(w, "schedules", p)
}

// scheduleAction pauses, resumes or fires a schedule (an author's
// change on its runbook).
func (c *Console) scheduleAction(w http.ResponseWriter, r *http.Request, p *page) {
	if c.cfg.Schedules == nil {
		c.fail(w, p, http.StatusNotFound, p.T("schedules.none"))
		return
	}
	name, action := r.PathValue("name"), r.PathValue("action")
	all, err := c.cfg.Schedules.List(r.Context())
	if err != nil {
		c.fail(w, p, http.StatusInternalServerError, errorText(err))
		return
	}
	var sc *ScheduleView
	for i := range all {
		if all[i].Name == name {
			sc = &all[i]
		}
	}
	if sc == nil {
		c.fail(w, p, http.StatusNotFound, p.T("schedules.unknown", name))
		return
	}
	need := auth.Author
	if action == "fire" {
		need = auth.Operator
	}
	if err := p.Who.Require(need, sc.Runbook); err != nil {
		c.forbidden(w, p, err)
		return
	}
	to := "/schedules"
	switch action {
	case "pause":
		err = c.cfg.Schedules.Pause(r.Context(), name, p.Who.Subject)
	case "resume":
		err = c.cfg.Schedules.Resume(r.Context(), name, p.Who.Subject)
	case "fire":
		var id string
		if id, err = c.cfg.Schedules.Fire(r.Context(), name, p.Who.Subject); err == nil {
			to = "/runs/" + id
		}
	default:
		c.fail(w, p, http.StatusNotFound, p.T("schedules.unknown", action))
		return
	}
	if err != nil {
		c.fail(w, p, http.StatusConflict, errorText(err))
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// auditView is the audit page: the journal verified now (or one run),
// and the signing key when checkpoints can be signed.
type auditView struct {
	Run        string
	HeadSeq    int64
	HeadHash   string
	Verified   bool
	Report     journal.Report
	Problem    string
	KeyID      string
	Checkpoint string
	Took       string
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, p *page) {
	c.renderAudit(w, r, p, "")
}

func (c *Console) renderAudit(w http.ResponseWriter, r *http.Request, p *page, checkpoint string) {
	if err := p.Who.Require(auth.Viewer, ""); err != nil {
		c.forbidden(w, p, err)
		return
	}
	run := r.URL.Query().Get("run")
	v := auditView{Run: run, Checkpoint: checkpoint}
	var err error
	if v.HeadSeq, v.HeadHash, err = c.cfg.Store.Head(r.Context()); err != nil {
		c.fail(w, p, http.StatusInternalServerError, errorText(err))
		return
	}
	if run != "" || r.URL.Query().Get("verify") != "" {
		// Verifying reads every record (of the run): on demand.
		start := time.Now()
		rep, err := journal.Verify(r.Context(), c.cfg.Store, run)
		if errors.Is(err, journal.ErrRunNotFound) {
			c.fail(w, p, http.StatusNotFound, fmt.Sprintf("no run %s", run))
			return
		}
		if err != nil {
			c.fail(w, p, http.StatusInternalServerError, errorText(err))
			return
		}
		v.Verified, v.Report, v.Took = true, rep, time.Since(start).Round(time.Millisecond).String()
		if rep.Problem != nil {
			v.Problem = rep.Problem.Error()
		}
	}
	if c.cfg.Audit != nil {
		v.KeyID = c.cfg.Audit.KeyID()
	}
	p.Title, p.Nav, p.Data = p.T("nav.audit"), "audit", v
	c.render(w, "audit", p)
}

// auditExport downloads the journal (or one run's records) as JSON
// Lines, as steward audit export writes it.
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, p *page) {
	if err := p.Who.Require(auth.Viewer, ""); err != nil {
		c.forbidden(w, p, err)
		return
	}
	run := r.URL.Query().Get("run")
	name := "steward-journal.jsonl"
	if run != "" {
		name = "steward-run-" + run + ".jsonl"
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if _, err := journal.Export(r.Context(), c.cfg.Store, w, run, time.Time{}); err != nil {
		c.cfg.Logger.Error("console: export", "err", err)
		_, _ = io.WriteString(w, "\n")
	}
}

// auditCheckpoint signs a checkpoint (an admin's act).
func (c *Console) auditCheckpoint(w http.ResponseWriter, r *http.Request, p *page) {
	if err := p.Who.Require(auth.Admin, ""); err != nil {
		c.forbidden(w, p, err)
		return
	}
	if c.cfg.Audit == nil {
		c.fail(w, p, http.StatusNotFound, p.T("audit.nokey"))
		return
	}
	line, err := c.cfg.Audit.Checkpoint(r.Context())
	if err != nil {
		c.fail(w, p, http.StatusConflict, errorText(err))
		return
	}
	c.renderAudit(w, r, p, string(line))
}

func (c *Console) plugins(w http.ResponseWriter, r *http.Request, p *page) {
	var list []PluginView
	if c.cfg.Plugins != nil {
		var err error
		if list, err = c.cfg.Plugins.List(r.Context()); err != nil {
			c.fail(w, p, http.StatusInternalServerError, errorText(err))
			return
		}
	}
	p.Title, p.Nav = p.T("nav.plugins"), "plugins"
	p.Data = struct {
		Enabled bool
		Plugins []PluginView
	}{c.cfg.Plugins != nil, list}
	c.render(w, "plugins", p)
}
