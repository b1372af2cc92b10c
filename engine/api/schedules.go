package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stewardhq/steward/engine/auth"
)

// Schedules is what the API asks of the scheduler. Pause and Resume
// record who did it (the scheduler records them in the journal); Fire
// starts a run of the schedule now and returns its id.
type Schedules interface {
	List(ctx context.Context) ([]ScheduleStatus, error)
	Pause(ctx context.Context, name, by string) error
	Resume(ctx context.Context, name, by string) error
	Fire(ctx context.Context, name, by string) (runID string, err error)
}

// ErrNoSchedule: no schedule has that name. A Schedules implementation
// returns it (wrapped or not) for a name it does not know.
var ErrNoSchedule = errors.New("api: no such schedule")

// ScheduleStatus is a schedule as the API lists it.
type ScheduleStatus struct {
	// Name identifies the schedule (pause, resume, fire take it).
	Name     string `json:"name"`
	Runbook  string `json:"runbook"`
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
	Catchup  string `json:"catchup"`
	Overlap  string `json:"overlap"`
	Paused   bool   `json:"paused"`
	// NextFire is zero when the schedule is paused.
	NextFire time.Time `json:"next_fire,omitzero"`
	LastFire *LastFire `json:"last_fire,omitempty"`
}

// LastFire is a schedule's last slot: when it was due, the run it
// started (none when it was skipped) and how that went.
type LastFire struct {
	Slot    time.Time `json:"slot"`
	RunID   string    `json:"run_id,omitempty"`
	Outcome string    `json:"outcome"`
}

// ScheduleList answers GET /schedules.
type ScheduleList struct {
	Schedules []ScheduleStatus `json:"schedules"`
}

// Fired answers POST /schedules/{name}/fire.
type Fired struct {
	Schedule string `json:"schedule"`
	RunID    string `json:"run_id"`
}

var errNoScheduler = &problemError{status: http.StatusServiceUnavailable, slug: "no-scheduler", title: "No scheduler",
	detail: "this server runs no scheduler"}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) {
	p, err := principal(r)
	if err == nil && s.cfg.Schedules == nil {
		err = errNoScheduler
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}
	all, err := s.cfg.Schedules.List(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := ScheduleList{Schedules: []ScheduleStatus{}}
	for _, sc := range all {
		if p.Can(auth.Viewer, sc.Runbook) {
			out.Schedules = append(out.Schedules, sc)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// schedule returns the named schedule, once the principal is known to
// hold role on its runbook.
func (s *Server) schedule(r *http.Request, role auth.Role) (ScheduleStatus, auth.Principal, error) {
	p, err := principal(r)
	if err != nil {
		return ScheduleStatus{}, p, err
	}
	if s.cfg.Schedules == nil {
		return ScheduleStatus{}, p, errNoScheduler
	}
	all, err := s.cfg.Schedules.List(r.Context())
	if err != nil {
		return ScheduleStatus{}, p, err
	}
	name := r.PathValue("name")
	for _, sc := range all {
		if sc.Name == name {
			return sc, p, p.Require(role, sc.Runbook)
		}
	}
	return ScheduleStatus{}, p, noSchedule(name)
}

func noSchedule(name string) error {
	return &problemError{status: http.StatusNotFound, slug: "schedule-not-found", title: "Schedule not found", detail: "no schedule named " + name}
}

// scheduleErr maps ErrNoSchedule to its problem.
func scheduleErr(name string, err error) error {
	if errors.Is(err, ErrNoSchedule) {
		return noSchedule(name)
	}
	return err
}

func (s *Server) pauseSchedule(w http.ResponseWriter, r *http.Request) {
	s.changeSchedule(w, r, func(ctx context.Context, name, by string) error { return s.cfg.Schedules.Pause(ctx, name, by) })
}

func (s *Server) resumeSchedule(w http.ResponseWriter, r *http.Request) {
	s.changeSchedule(w, r, func(ctx context.Context, name, by string) error { return s.cfg.Schedules.Resume(ctx, name, by) })
}

// changeSchedule pauses or resumes a schedule as the principal, an
// author of its runbook, and answers the schedule as it is then.
func (s *Server) changeSchedule(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, name, by string) error) {
	sc, p, err := s.schedule(r, auth.Author)
	if err == nil {
		err = scheduleErr(sc.Name, change(r.Context(), sc.Name, p.Subject))
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}
	all, err := s.cfg.Schedules.List(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	for _, now := range all {
		if now.Name == sc.Name {
			writeJSON(w, http.StatusOK, now)
			return
		}
	}
	s.problem(w, r, noSchedule(sc.Name))
}

func (s *Server) fireSchedule(w http.ResponseWriter, r *http.Request) {
	sc, p, err := s.schedule(r, auth.Author)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	id, err := s.cfg.Schedules.Fire(r.Context(), sc.Name, p.Subject)
	if err != nil {
		s.problem(w, r, scheduleErr(sc.Name, err))
		return
	}
	w.Header().Set("Location", Prefix+"/runs/"+id)
	writeJSON(w, http.StatusAccepted, Fired{Schedule: sc.Name, RunID: id})
}
