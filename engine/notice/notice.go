// Package notice tells approvers that a run waits for them: when a step
// starts waiting for an approval, a message through the configured notify
// action (email, or a Slack, Teams or Discord webhook) says what is
// asked, by whom, who may decide, the approve command and the run's URL;
// a reminder goes out before the approval times out.
//
// Each message is a journal record of the waiting run (approval.notified)
// claimed before it is sent, with a key unique in the run
// (notified/STEP/QUESTION/KIND, journal.Batch.Once): of several replicas
// sweeping the same journal, one claims it and sends. Delivery is
// therefore at most once: a process that dies between the claim and the
// send loses that message (the record says it was attempted); a failed
// send is recorded (approval.notify_failed) and not retried.
package notice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
)

// Record types this package appends to a waiting run.
const (
	// Notified: a message about the step's approval was claimed and
	// sent (or is being sent): Step, Approvers, Notice.
	Notified = "approval.notified"
	// NotifyFailed: sending it failed: Step, Notice, Error.
	NotifyFailed = "approval.notify_failed"
)

// Kinds of message.
const (
	First    = "first"
	Reminder = "reminder"
)

// DefaultPoll is how often the journal is swept for waiting runs.
const DefaultPoll = 5 * time.Second

// sendTimeout bounds one message.
const sendTimeout = 30 * time.Second

// Config is what a Notifier works with.
type Config struct {
	// Runs lists waiting runs and loads them.
	Runs *runs.Service
	// Store is the journal the records go to (the service's).
	Store journal.Store
	// Notify is server.notify of steward.yaml.
	Notify config.Notify
	// URL is server.url: messages link to URL/runs/RUN_ID; "": no link.
	URL string
	// Lookup finds the notify action (the plugins' registry).
	Lookup func(name string) (actions.Action, bool)
	// Describe names who may decide, with the members of groups
	// (journal.Policy.Describe); default: the names as they are.
	Describe func(approvers []string) string
	Clock    clockwork.Clock
	Poll     time.Duration // default DefaultPoll
	Log      *slog.Logger
}

// Notifier sweeps the journal for waiting approvals and tells their
// approvers.
type Notifier struct {
	cfg       Config
	mu        sync.Mutex
	stop      context.CancelFunc
	done      chan struct{}
	byVersion map[string]map[string]time.Duration // approval timeouts by runbook version and step
}

// New returns the notifier of cfg.
func New(cfg Config) *Notifier {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Describe == nil {
		cfg.Describe = func(a []string) string { return strings.Join(a, ", ") }
	}
	return &Notifier{cfg: cfg, byVersion: map[string]map[string]time.Duration{}}
}

// Start sweeps now, then every Poll, until Stop or ctx is done.
func (n *Notifier) Start(ctx context.Context) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stop != nil {
		return
	}
	ctx, n.stop = context.WithCancel(ctx)
	n.done = make(chan struct{})
	go func() {
		defer close(n.done)
		t := n.cfg.Clock.NewTicker(n.cfg.Poll)
		defer t.Stop()
		for {
			if err := n.Sweep(ctx); err != nil && ctx.Err() == nil {
				n.cfg.Log.Error("approval notifications: sweeping the journal", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.Chan():
			}
		}
	}()
}

// Stop stops the sweeps and waits for the one under way, which ends
// after the message it is sending, if any.
func (n *Notifier) Stop() {
	n.mu.Lock()
	stop, done := n.stop, n.done
	n.stop = nil
	n.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Sweep tells the approvers of every waiting approval what is due now:
// the first message, and the reminder once within remind_before of the
// approval's timeout.
func (n *Notifier) Sweep(ctx context.Context) error {
	var ids []string
	err := n.cfg.Runs.List(ctx, runs.Filter{Status: string(engine.StatusWaiting)}, func(s runs.Summary) error {
		ids = append(ids, s.ID)
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := n.run(ctx, id); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			n.cfg.Log.Error("approval notifications", "run_id", id, "err", err)
		}
	}
	return nil
}

// notice is what an approval.notified record says beside its step.
type notice struct {
	Kind     string    `json:"kind"`
	Channel  string    `json:"channel"` // the action
	Question int64     `json:"question"`
	Expires  time.Time `json:"expires,omitzero"`
}

type noticeData struct {
	Step      string   `json:"step"`
	Approvers []string `json:"approvers,omitempty"`
	Notice    notice   `json:"notice"`
	// Error has the shape of every record's error (journal.Data.Error).
	Error *engine.ErrorInfo `json:"error,omitempty"`
}

// run sends what is due for the run id.
func (n *Notifier) run(ctx context.Context, id string) error {
	r, err := n.cfg.Runs.Get(ctx, id)
	if err != nil {
		return err
	}
	st := r.State
	if st.Run.Status != string(engine.StatusWaiting) {
		return nil
	}
	sent := map[string]time.Time{} // once key -> when claimed
	for _, rec := range st.Records {
		if rec.Type != Notified {
			continue
		}
		var d noticeData
		if json.Unmarshal(rec.Data, &d) == nil {
			sent[onceKey(d.Step, d.Notice.Question, d.Notice.Kind)] = rec.Time
		}
	}
	now := n.cfg.Clock.Now()
	for _, w := range st.Waiting {
		if w.Interrupted {
			continue // a crash's question, not an approval
		}
		expires, timesOut := w.Expiry(n.timeouts(ctx, st)[w.Step])
		first, ok := sent[onceKey(w.Step, w.Question, First)]
		if !ok {
			if err := n.send(ctx, st, w, First, expires); err != nil {
				return err
			}
			continue
		}
		if n.cfg.Notify.RemindBefore <= 0 || !timesOut {
			continue
		}
		remindAt := expires.Add(-n.cfg.Notify.RemindBefore)
		_, reminded := sent[onceKey(w.Step, w.Question, Reminder)]
		// A first message sent within the reminder window is its own
		// reminder.
		if !reminded && first.Before(remindAt) && !now.Before(remindAt) && now.Before(expires) {
			if err := n.send(ctx, st, w, Reminder, expires); err != nil {
				return err
			}
		}
	}
	return nil
}

func onceKey(step string, question int64, kind string) string {
	return fmt.Sprintf("notified/%s/%d/%s", step, question, kind)
}

// timeouts returns the approval timeouts of the run's runbook version, by
// step; none when its source cannot be read (no reminder then). They are
// kept by version: a version's content never changes.
func (n *Notifier) timeouts(ctx context.Context, st *journal.State) map[string]time.Duration {
	n.mu.Lock()
	out, ok := n.byVersion[st.Version]
	n.mu.Unlock()
	if ok {
		return out
	}
	out = map[string]time.Duration{}
	src, err := n.cfg.Store.Source(ctx, st.Version)
	sum := sha256.Sum256(src.Src)
	if err != nil || hex.EncodeToString(sum[:]) != st.Version {
		n.cfg.Log.Warn("approval notifications: the run's runbook source is missing or changed: no reminder", "run_id", st.Run.ID)
		return out
	}
	defer func() {
		n.mu.Lock()
		n.byVersion[st.Version] = out
		n.mu.Unlock()
	}()
	rb, _ := schema.Load(src.File, src.Src)
	if rb == nil {
		return out
	}
	for _, s := range append(append([]*schema.Step(nil), rb.Steps...), rb.OnFailure...) {
		if s.Approval != nil {
			out[s.ID] = s.Approval.Timeout
		}
	}
	return out
}

// send claims the message, then sends it; a failure to send is recorded.
// A claim already held (another replica sent it) is not an error.
func (n *Notifier) send(ctx context.Context, st *journal.State, w *journal.Waiting, kind string, expires time.Time) error {
	action := n.cfg.Notify.Action
	d := noticeData{Step: w.Step, Approvers: w.Approvers, Notice: notice{Kind: kind, Channel: action, Question: w.Question, Expires: expires}}
	key := onceKey(w.Step, w.Question, kind)
	if err := n.record(ctx, st.Run.ID, Notified, key, d); err != nil {
		var dup *journal.DuplicateError
		if errors.As(err, &dup) || errors.Is(err, journal.ErrRunEnded) {
			return nil // claimed elsewhere, or decided and ended meanwhile
		}
		return err
	}
	// Claimed: the message is sent, and its outcome recorded, even when
	// ctx ends meanwhile (Stop, a shutdown); sendTimeout bounds it. Cut
	// short, a message the server had accepted was recorded as failed
	// (context canceled), and one it had not was lost: it is claimed,
	// and never sent again. The sweep stops after it.
	ctx = context.WithoutCancel(ctx)
	err := n.deliver(ctx, st, w, kind, expires)
	log := n.cfg.Log.With("run_id", st.Run.ID, "step", w.Step, "kind", kind, "channel", action)
	if err == nil {
		log.Info("approvers notified")
		return nil
	}
	log.Error("notifying approvers failed", "err", err)
	d.Error = &engine.ErrorInfo{Code: actions.CodeFailed, Message: err.Error(), Step: w.Step}
	if rerr := n.record(ctx, st.Run.ID, NotifyFailed, "notify-failed/"+key[len("notified/"):], d); rerr != nil && !errors.Is(rerr, journal.ErrRunEnded) {
		return rerr
	}
	return nil
}

func (n *Notifier) record(ctx context.Context, runID, typ, once string, d noticeData) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = n.cfg.Store.Append(ctx, journal.Batch{RunID: runID, Once: once, Sync: true,
		Entries: []journal.Entry{{Type: typ, Time: n.cfg.Clock.Now(), Data: b}}})
	return err
}

// deliver executes the notify action with the message.
func (n *Notifier) deliver(ctx context.Context, st *journal.State, w *journal.Waiting, kind string, expires time.Time) error {
	act, ok := n.cfg.Lookup(n.cfg.Notify.Action)
	if !ok {
		return fmt.Errorf("notice: action %s is not installed", n.cfg.Notify.Action)
	}
	m := n.message(st, w, kind, expires)
	with := map[string]any{}
	for k, v := range n.cfg.Notify.With {
		with[k] = v
	}
	if n.cfg.Notify.Action == "notify.email" {
		with["subject"], with["body"] = m.title, m.text
	} else {
		with["title"], with["text"], with["fields"] = m.title, m.text, m.fields
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	log := n.cfg.Log.With("run_id", st.Run.ID, "step", w.Step)
	_, err := act.Execute(ctx, &actions.Request{Action: n.cfg.Notify.Action, With: with, RunID: st.Run.ID, StepID: w.Step,
		Index: -1, Attempt: 1, IdempotencyKey: fmt.Sprintf("%s/%s", st.Run.ID, onceKey(w.Step, w.Question, kind)),
		Deadline: deadline, Log: func(level, msg string) { log.Info("notify: "+msg, "level", level) }})
	return err
}
