package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/stewardhq/steward/engine"
)

// Flush policy of a Recorder. Records are written in batches, one
// transaction each:
//   - at once, and durably (fsync), before an action that mutates runs, and
//     when the run ends or waits;
//   - at once, not durably, when the run starts (so that it is listed);
//   - otherwise when MaxBuffered records wait or FlushEvery has passed.
//
// A crash of the process loses nothing written; a crash of the machine
// may lose the records of read-only work since the last durable batch,
// which resume runs again.
const (
	MaxBuffered = 512
	FlushEvery  = 250 * time.Millisecond
)

// Recorder records a run's events in a store as they happen: it is the
// engine.Sink of a journaled run. When the store fails, it calls Stop (so
// that nothing runs unrecorded) and Err reports the failure.
type Recorder struct {
	store   Store
	run     Run
	source  *Source
	origin  *Origin
	stop    func(error)
	clock   func() time.Time
	mu      sync.Mutex
	buf     []Entry
	started map[engine.StepKey]*engine.Event // step.started held to merge with its first attempt
	last    time.Time
	err     error
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// Run is the run's summary; the recorder keeps its status current.
	Run Run
	// Source is the runbook's content, stored once per hash.
	Source *Source
	// Origin goes in the run.started record.
	Origin *Origin
	// Stop is called once with the error when the store fails.
	Stop func(error)
	// Now is the clock of the summary's UpdatedAt; default time.Now.
	Now func() time.Time
}

// NewRecorder returns a recorder of one run into store.
func NewRecorder(store Store, o RecorderOptions) *Recorder {
	r := &Recorder{store: store, run: o.Run, source: o.Source, origin: o.Origin, stop: o.Stop, clock: o.Now,
		started: map[engine.StepKey]*engine.Event{}}
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
	key := engine.StepKey{Phase: e.Phase, ID: e.Step}
	if held := r.started[key]; held != nil && e.Step != "" {
		delete(r.started, key)
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
		r.started[key] = e
		return
	}
	r.add(e)
	switch e.Type {
	case engine.RunStarted, engine.RunResumed:
		r.flush(false)
	case engine.AttemptStarted, engine.StepStarted:
		if e.Mutates {
			r.flush(true)
		}
	case engine.RunFinished:
		r.run.Status = string(e.Status)
		if e.Status != engine.StatusWaiting {
			r.run.FinishedAt = e.Time
		}
		r.flush(true)
	}
	if len(r.buf) >= MaxBuffered || (len(r.buf) > 0 && r.clock().Sub(r.last) >= FlushEvery) {
		r.flush(false)
	}
}

// Append records entries that are not engine events (an approval
// decision, a cancel request) in the run's next batch, durably.
func (r *Recorder) Append(entries ...Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.buf = append(r.buf, entries...)
	r.flush(true)
	return r.err
}

// Close writes what is still buffered.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, held := range r.started {
		delete(r.started, k)
		r.add(held)
	}
	if r.err == nil && len(r.buf) > 0 {
		r.flush(true)
	}
	return r.err
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

func (r *Recorder) flush(sync bool) {
	if r.err != nil {
		return
	}
	r.run.UpdatedAt = r.clock()
	run := r.run
	b := Batch{RunID: r.run.ID, Entries: r.buf, Run: &run, Source: r.source, Sync: sync}
	if _, err := r.store.Append(context.Background(), b); err != nil {
		r.err = fmt.Errorf("journal: recording run %s: %w", r.run.ID, err)
		r.stop(r.err)
		return
	}
	r.source = nil
	r.buf = r.buf[:0]
	r.last = r.clock()
}
