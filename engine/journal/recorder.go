package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stewardhq/steward/engine"
)

// Flush policy of a Recorder. Records are written in batches, one
// transaction each:
//   - at once, and durably (fsync), before an action that mutates runs,
//     when an attempt of such an action ends (before any later step
//     starts, and before progress shows it), and when the run ends or
//     waits;
//   - at once, not durably, when the run starts (so that it is listed);
//   - otherwise by a timer, FlushEvery after the first record waiting, or
//     when MaxBuffered records wait.
//
// Progress (RecorderOptions.Then) is shown only once the records of what
// it shows are written: what a person saw succeed is in the journal, even
// after kill -9. A crash of the process loses nothing written; a crash of
// the machine may lose the records of read-only work since the last
// durable batch, which resume runs again.
const (
	MaxBuffered = 512
	FlushEvery  = 50 * time.Millisecond
)

// Recorder records a run's events in a store as they happen: it is the
// engine.Sink of a journaled run. When the store fails, it calls Stop (so
// that nothing runs unrecorded) and Err reports the failure.
type Recorder struct {
	store   Store
	run     Run
	source  *Source
	origin  *Origin
	key     string // the trigger's key, for the first batch
	stop    func(error)
	clock   func() time.Time
	then    engine.Sink
	mu      sync.Mutex
	buf     []Entry
	shown   []*engine.Event         // events written or waiting, for then, in order
	started []*engine.Event         // step.started held to merge with its first attempt, in order
	mutates map[engine.StepKey]bool // steps with an attempt of a mutating action
	timer   *time.Timer             // the flush of records waiting, when armed
	err     error
	closed  bool
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// Run is the run's summary; the recorder keeps its status current.
	Run Run
	// Source is the runbook's content, stored once per hash.
	Source *Source
	// Origin goes in the run.started record. When its Trigger has a
	// Key, the batch of run.started claims it (Batch.Key): a run whose
	// key another run holds records nothing and stops.
	Origin *Origin
	// Stop is called once with the error when the store fails.
	Stop func(error)
	// Now is the clock of the summary's UpdatedAt; default time.Now.
	Now func() time.Time
	// Then receives each event once the record of it is written: the
	// progress a person sees. Calls are serialized, in order.
	Then engine.Sink
}

// NewRecorder returns a recorder of one run into store.
func NewRecorder(store Store, o RecorderOptions) *Recorder {
	r := &Recorder{store: store, run: o.Run, source: o.Source, origin: o.Origin, stop: o.Stop, clock: o.Now,
		then: o.Then, mutates: map[engine.StepKey]bool{}}
	if o.Origin != nil && o.Origin.Trigger != nil {
		r.key = o.Origin.Trigger.Key
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	if r.stop == nil {
		r.stop = func(error) {}
	}
	return r
}

// Err is the first store failure, or nil.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Event implements engine.Sink.
func (r *Recorder) Event(e *engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	if r.then != nil {
		r.shown = append(r.shown, e)
	}
	key := engine.StepKey{Phase: e.Phase, ID: e.Step}
	if held := r.takeStarted(key); held != nil && e.Step != "" {
		if e.Type == engine.AttemptStarted && e.Index < 0 && e.Attempt == 1 {
			// One record says the step started and what its first
			// attempt runs with.
			merged := *held
			merged.Attempt, merged.With, merged.Key = e.Attempt, e.With, e.Key
			merged.Mutates, merged.Idempotent, merged.Provider = e.Mutates, e.Idempotent, e.Provider
			e = &merged
		} else {
			r.add(held)
		}
	}
	if e.Type == engine.StepStarted && e.Items == 0 && e.Attempt == 0 { // not yet merged
		r.started = append(r.started, e)
		r.arm()
		return
	}
	r.add(e)
	switch e.Type {
	case engine.RunStarted, engine.RunResumed:
		if e.Type == engine.RunStarted {
			// The summary's start is the record's: Verify checks it.
			r.run.StartedAt = e.Time
		}
		r.flush(false)
	case engine.AttemptStarted, engine.StepStarted:
		if e.Mutates {
			r.mutates[key] = true
			r.flush(true)
		}
	case engine.AttemptFailed, engine.ItemFinished:
		if r.mutates[key] {
			r.flush(true)
		}
	case engine.StepFinished:
		if r.mutates[key] {
			delete(r.mutates, key)
			r.flush(true)
		}
	case engine.RunFinished:
		r.run.Status = string(e.Status)
		if e.Status != engine.StatusWaiting {
			r.run.FinishedAt = e.Time
		}
		r.flush(true)
	}
	if len(r.buf) >= MaxBuffered {
		r.flush(false)
	}
	r.arm()
}

// arm sets the timer that writes the records waiting, FlushEvery after
// the first of them.
func (r *Recorder) arm() {
	if r.timer != nil || r.closed || (len(r.buf) == 0 && len(r.started) == 0 && len(r.shown) == 0) {
		return
	}
	r.timer = time.AfterFunc(FlushEvery, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.timer = nil
		if r.closed {
			return
		}
		// A step.started held for its first attempt waits no longer.
		r.addStarted()
		r.flush(false)
	})
}

// Close writes what is still buffered, and stops the timer.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.addStarted()
	if r.err == nil && (len(r.buf) > 0 || len(r.shown) > 0 || r.source != nil) {
		r.flush(true)
	}
	return r.err
}

// takeStarted removes and returns the step.started held for key, if any.
func (r *Recorder) takeStarted(key engine.StepKey) *engine.Event {
	i := slices.IndexFunc(r.started, func(e *engine.Event) bool { return e.Phase == key.Phase && e.Step == key.ID })
	if i < 0 {
		return nil
	}
	held := r.started[i]
	r.started = slices.Delete(r.started, i, i+1)
	return held
}

// addStarted records the step.started still held, in the order the steps
// started (steps of a parallel group each hold one).
func (r *Recorder) addStarted() {
	for _, held := range r.started {
		r.add(held)
	}
	r.started = nil
}

func (r *Recorder) add(e *engine.Event) {
	d := dataOf(e)
	switch e.Type {
	case engine.RunStarted:
		d.Origin = r.origin
	case engine.StepStarted, engine.StepSkipped, engine.StepDryRun, engine.AttemptStarted:
	default:
		// The step's started record names its action and name once.
		d.Action, d.Name = "", ""
	}
	b, err := json.Marshal(d)
	if err != nil {
		// Only values no JSON can hold (a NaN) get here: say so in the
		// record rather than lose it.
		b, _ = json.Marshal(&Data{Step: e.Step, Phase: e.Phase, Action: e.Action, Status: e.Status,
			Message: "journal: this record's values cannot be written as JSON: " + err.Error()})
	}
	if e.Time.IsZero() {
		e.Time = r.clock()
	}
	r.buf = append(r.buf, Entry{Type: string(e.Type), Time: e.Time, Data: b})
}

// flush writes the records waiting, then shows the events they record.
func (r *Recorder) flush(sync bool) {
	if r.err != nil {
		return
	}
	if len(r.buf) > 0 || r.source != nil {
		r.run.UpdatedAt = r.clock()
		run := r.run
		b := Batch{RunID: r.run.ID, Entries: r.buf, Run: &run, Source: r.source, Sync: sync}
		if len(r.buf) > 0 {
			// The first batch holds run.started, which flushes at once.
			b.Key, r.key = r.key, ""
		}
		if _, err := r.store.Append(context.Background(), b); err != nil {
			r.err = fmt.Errorf("journal: recording run %s: %w", r.run.ID, err)
			r.stop(r.err)
			return
		}
		r.source = nil
		r.buf = r.buf[:0]
	}
	if r.timer != nil && len(r.started) == 0 {
		r.timer.Stop()
		r.timer = nil
	}
	shown := r.shown
	r.shown = nil
	for _, e := range shown {
		r.then.Event(e)
	}
}
