package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// Config is what a Scheduler works with.
type Config struct {
	// Runs starts, lists and cancels runs; Store is its journal. Required.
	Runs  *runs.Service
	Store journal.Store
	// Folders are the runbook folders whose runbooks' schedules fire.
	Folders []string
	// Documents, when set, lists runbooks found before the folders' (the
	// pinned runbooks of Git and GitHub sources, sources.Resolver): their
	// schedules fire too, a name found here hiding the folders'. It is
	// read at each Reload: call Reload when what it lists changed (a
	// sync moved a pin).
	Documents func(ctx context.Context) ([]*runbooks.Document, error)
	// Clock drives gocron and every decision; default the real clock.
	Clock clockwork.Clock
	// Logger logs what is scheduled, fired and skipped; default discards.
	Logger *slog.Logger
	// Elector, when set, makes only the leader fire (gocron's
	// WithDistributedElector). Fires stay unique by their slot's key
	// whatever it says.
	Elector gocron.Elector
	// CatchupWindow and CatchupMax bound the catch-up of missed slots
	// (steward.yaml schedules:); defaults config.DefaultCatchupWindow and
	// config.DefaultCatchupMax.
	CatchupWindow time.Duration
	CatchupMax    int
	// Observe, when set, is told of each slot handled: when it was due,
	// when it was handled, and the outcome: "started", "skipped",
	// "buffered", "duplicate" (another process or an earlier life fired
	// it) or "error".
	Observe func(name string, slot, fired time.Time, outcome string)
	// Poll is how often a buffered fire (overlap: buffer_one) checks
	// whether the active run has ended; default one second.
	Poll time.Duration
	// PauseRefresh is how often the pause state is read again from the
	// journal (pauses recorded by other replicas); default one second.
	PauseRefresh time.Duration
	// Debounce is how long the runbook folders must be quiet after a
	// change before they are read again; default 500ms. NoWatch turns
	// the watching off (Reload is then called by hand, e.g. on SIGHUP).
	Debounce time.Duration
	NoWatch  bool
}

// Scheduler fires the schedules of the runbooks in the folders. Its
// methods are safe for concurrent use.
type Scheduler struct {
	cfg Config
	log *slog.Logger

	reloading sync.Mutex // one Reload at a time

	mu      sync.Mutex
	entries map[string]*entry
	jobs    map[string]uuid.UUID // gocron job of each schedule, once started
	last    map[string]time.Time // slots up to this are handled, by schedule
	pending map[string]*buffered // overlap: buffer_one
	queued  map[string]time.Time // the slot of a start under way (it may wait for a concurrency key)
	resync  map[string]bool      // wake from the latest recorded slot: this process became the leader (leader.go)
	gs      gocron.Scheduler     // nil until Start, and after Stop
	loaded  bool
	stopped bool
	watch   func() // stops the folder watcher

	amu        sync.Mutex
	activeRead *activeReading // the last reading of the active runs

	refreshing sync.Mutex // one refreshPauses at a time
	pmu        sync.Mutex
	pauses     map[string]pause
	pausesRead bool
	pausesAt   time.Time

	// Fired runs and buffered fires run under runCtx; wg tracks them.
	runCtx    context.Context
	runCancel context.CancelFunc
	wg        sync.WaitGroup
}

// New returns a scheduler of cfg; Start starts it. List, Pause, Resume and
// Fire work without Start (steward schedules uses List on the local store).
func New(cfg Config) (*Scheduler, error) {
	if cfg.Runs == nil || cfg.Store == nil {
		return nil, errors.New("schedule: a scheduler needs the run service and its store")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CatchupWindow <= 0 {
		cfg.CatchupWindow = config.DefaultCatchupWindow
	}
	if cfg.CatchupMax <= 0 {
		cfg.CatchupMax = config.DefaultCatchupMax
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.PauseRefresh <= 0 {
		cfg.PauseRefresh = time.Second
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 500 * time.Millisecond
	}
	s := &Scheduler{cfg: cfg, log: cfg.Logger, entries: map[string]*entry{}, jobs: map[string]uuid.UUID{},
		last: map[string]time.Time{}, pending: map[string]*buffered{}, queued: map[string]time.Time{}, resync: map[string]bool{}, pauses: map[string]pause{}}
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
	return s, nil
}

// Start reads the folders, catches up the slots missed since each
// schedule's latest recorded slot, schedules every schedule with gocron,
// and watches the folders; it returns once started.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := s.refreshPauses(ctx, true); err != nil {
		return err
	}
	gs, err := s.newGocron()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.gs != nil || s.stopped {
		s.mu.Unlock()
		_ = gs.Shutdown()
		if s.stopped {
			return ErrStopped
		}
		return errors.New("schedule: the scheduler was started already")
	}
	s.gs = gs
	s.mu.Unlock()
	if err := s.Reload(ctx); err != nil {
		_ = s.shutdown()
		return err
	}
	gs.Start()
	s.mu.Lock()
	n := len(s.entries)
	s.mu.Unlock()
	s.log.Info("schedule: started", "schedules", n, "folders", s.cfg.Folders, "catchup_window", s.cfg.CatchupWindow, "catchup_max", s.cfg.CatchupMax)
	if !s.cfg.NoWatch {
		stop, err := s.watchFolders()
		if err != nil {
			_ = s.shutdown()
			return err
		}
		s.mu.Lock()
		s.watch = stop
		s.mu.Unlock()
	}
	return nil
}

func (s *Scheduler) newGocron() (gocron.Scheduler, error) {
	opts := []gocron.SchedulerOption{gocron.WithClock(s.cfg.Clock), gocron.WithLocation(time.UTC),
		gocron.WithStopTimeout(time.Minute)}
	if s.cfg.Elector != nil {
		opts = append(opts, gocron.WithDistributedElector(&leaderWatch{Elector: s.cfg.Elector, s: s}))
	}
	gs, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	return gs, nil
}

// Reload reads the folders again: new schedules are caught up and
// scheduled, changed ones rescheduled, removed ones stopped. A runbook that
// cannot run now (an edit made it invalid) keeps the schedules it had, and
// its diagnostics are logged.
func (s *Scheduler) Reload(ctx context.Context) error {
	s.reloading.Lock() // the watcher, SIGHUP and List may reload at once
	defer s.reloading.Unlock()
	l, err := s.load(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.entries
	next := map[string]*entry{}
	for name, e := range l.entries {
		next[name] = e
	}
	for _, name := range names(old) {
		e := old[name]
		if bad, ok := l.invalid[e.runbook]; ok {
			next[name] = e
			s.log.Warn("schedule: "+bad.why+"; its schedule is kept as it was", "schedule", name, "runbook", e.runbook, "diagnostics", bad.diags)
		}
	}
	for _, rb := range names(l.invalid) {
		bad := l.invalid[rb]
		if bad.scheduled && !hasRunbook(old, rb) {
			s.log.Warn("schedule: "+bad.why+"; not scheduled", "runbook", rb, "diagnostics", bad.diags)
		}
	}
	s.entries, s.loaded = next, true
	gs := s.gs
	s.mu.Unlock()
	if gs == nil {
		return nil // not started: List, Pause, Resume and Fire only
	}
	now := s.cfg.Clock.Now()
	for _, name := range names(old) {
		if _, ok := next[name]; !ok {
			s.unschedule(name)
			s.log.Info("schedule: removed", "schedule", name)
		}
	}
	for _, name := range names(next) {
		e := next[name]
		s.mu.Lock()
		o, had := old[name]
		_, running := s.jobs[name]
		s.mu.Unlock()
		if had && running && o == e {
			continue // kept as it was
		}
		if had && running && o.same(e) {
			continue // the same slots: the new entry fires them
		}
		if !running {
			s.catchUp(ctx, e, now)
		}
		if err := s.schedule(gs, e, now); err != nil {
			return err
		}
	}
	return nil
}

func hasRunbook(m map[string]*entry, runbook string) bool {
	for _, e := range m {
		if e.runbook == runbook {
			return true
		}
	}
	return false
}

// schedule makes gocron wake the scheduler at e's slots (replacing its
// job when it has one).
func (s *Scheduler) schedule(gs gocron.Scheduler, e *entry, now time.Time) error {
	name := e.name
	def := gocron.CronJob(e.sc.Cron, true)
	task := gocron.NewTask(func() { s.wake(name) })
	opts := []gocron.JobOption{gocron.WithName(name), gocron.WithCronImplementation(e.slots)}
	s.mu.Lock()
	id, had := s.jobs[name]
	if _, ok := s.last[name]; !ok {
		s.last[name] = now
	}
	s.mu.Unlock()
	var j gocron.Job
	var err error
	if had {
		j, err = gs.Update(id, def, task, opts...)
	} else {
		j, err = gs.NewJob(def, task, opts...)
	}
	if err != nil {
		return fmt.Errorf("schedule: scheduling %s: %w", name, err)
	}
	s.mu.Lock()
	s.jobs[name] = j.ID()
	s.mu.Unlock()
	s.log.Info("schedule: scheduled", "schedule", name, "runbook", e.runbook, "cron", e.sc.Cron, "timezone", e.sc.Timezone,
		"catchup", e.sc.Catchup, "overlap", e.sc.Overlap, "next", e.slots.Next(now).UTC())
	return nil
}

func (s *Scheduler) unschedule(name string) {
	s.mu.Lock()
	id, ok := s.jobs[name]
	delete(s.jobs, name)
	delete(s.last, name)
	gs := s.gs
	s.mu.Unlock()
	if ok && gs != nil {
		_ = gs.RemoveJob(id)
	}
}

// wake handles the slots of a schedule that are due: those after the
// last one handled, up to now (one, unless the process woke late).
func (s *Scheduler) wake(name string) {
	s.mu.Lock()
	e, ok := s.entries[name]
	from := s.last[name]
	now := s.cfg.Clock.Now()
	if !ok || s.stopped || from.IsZero() {
		s.mu.Unlock()
		return
	}
	s.last[name] = now
	resync := s.resync[name]
	delete(s.resync, name)
	s.mu.Unlock()
	if resync {
		from = s.since(s.runCtx, e, from)
	}
	due, total := e.slots.Between(from, now, maxSkipRecords+s.cfg.CatchupMax, maxSlots)
	s.handle(s.runCtx, e, due, total, from, now, false)
}

// Stop stops firing, records buffered fires as skipped, and waits for the
// runs it fired until ctx ends; then it cancels them, waits for them to
// stop, and returns ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	err := s.shutdown()
	s.mu.Lock()
	pend := s.pending
	s.pending = map[string]*buffered{}
	s.mu.Unlock()
	for _, p := range pend {
		p.cancel()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.runCancel()
		return err
	case <-ctx.Done():
		s.runCancel()
		<-done
		return errors.Join(err, ctx.Err())
	}
}

// shutdown stops gocron and the watcher.
func (s *Scheduler) shutdown() error {
	s.mu.Lock()
	gs, watch := s.gs, s.watch
	s.gs, s.watch, s.stopped = nil, nil, true
	s.mu.Unlock()
	if watch != nil {
		watch()
	}
	if gs != nil {
		if err := gs.Shutdown(); err != nil {
			return fmt.Errorf("schedule: stopping: %w", err)
		}
	}
	return nil
}
