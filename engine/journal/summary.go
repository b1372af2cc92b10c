package journal

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/stewardhq/steward/engine"
)

// A run's summary (Store.Run, Store.Runs: what steward runs lists) is kept
// beside its records, outside the hash chain. Its fields that the records
// hold are checked against them: Load replaces them with what the records
// say and lists the differences, Verify reports the first.

// Mismatch is a field of a run's summary, as the store lists it, that
// differs from what the run's records say: the runs list was changed.
type Mismatch struct {
	// Field is the summary's field: status, actor, runbook, version,
	// dry_run, parent, started_at or finished_at.
	Field string `json:"field"`
	// Listed is its value in the runs list; Recorded what the record Seq
	// says ("" for none).
	Listed   string `json:"listed"`
	Recorded string `json:"recorded"`
	Seq      int64  `json:"seq"`
}

// String says what differs, as in
// `its status is "succeeded" in the runs list but "failed" in its records (record 12)`.
func (m Mismatch) String() string {
	return fmt.Sprintf("its %s is %s in the runs list but %s in its records (record %d)",
		m.Field, strconv.Quote(m.Listed), strconv.Quote(m.Recorded), m.Seq)
}

// recorded is what a run's records say of its summary: run.started names
// its runbook, version, actor, dry-run, parent and start; the last of
// run.started, run.resumed (running) and run.finished (its status, and
// its end when final) its status.
type recorded struct {
	run       Run
	startSeq  int64
	statusSeq int64
}

// apply takes in one of the run's records, in order.
func (c *recorded) apply(r Record, d *Data) {
	switch engine.EventType(r.Type) {
	case engine.RunStarted:
		c.run.Runbook, c.run.Version, c.run.Actor, c.run.DryRun = d.Runbook, startedVersion(d), d.Actor, d.DryRun
		c.run.Parent = ""
		if d.Origin != nil {
			c.run.Parent = d.Origin.Parent
		}
		c.run.StartedAt, c.startSeq = r.Time, r.Seq
		c.setStatus(r, engine.StatusRunning)
	case engine.RunResumed:
		c.setStatus(r, engine.StatusRunning)
	case engine.RunFinished:
		c.setStatus(r, d.Status)
	}
}

func (c *recorded) setStatus(r Record, status engine.Status) {
	c.run.Status, c.statusSeq = string(status), r.Seq
	c.run.FinishedAt = finishedAt(r, status)
}

// finishedAt is when a run ends by record r setting its status: r's time
// for a final status, none otherwise.
func finishedAt(r Record, status engine.Status) time.Time {
	if engine.EventType(r.Type) == engine.RunFinished && final(status) {
		return r.Time
	}
	return time.Time{}
}

// mismatches lists the fields of the listed summary that differ from the
// records, the most telling first.
func (c *recorded) mismatches(listed Run) []Mismatch {
	var ms []Mismatch
	add := func(field, l, r string, seq int64) {
		if l != r {
			ms = append(ms, Mismatch{Field: field, Listed: l, Recorded: r, Seq: seq})
		}
	}
	rec := c.run
	add("status", listed.Status, rec.Status, c.statusSeq)
	add("actor", listed.Actor, rec.Actor, c.startSeq)
	add("runbook", listed.Runbook, rec.Runbook, c.startSeq)
	add("version", listed.Version, rec.Version, c.startSeq)
	add("dry_run", strconv.FormatBool(listed.DryRun), strconv.FormatBool(rec.DryRun), c.startSeq)
	add("parent", listed.Parent, rec.Parent, c.startSeq)
	if !sameTime(listed.StartedAt, rec.StartedAt) {
		add("started_at", formatTime(listed.StartedAt), formatTime(rec.StartedAt), c.startSeq)
	}
	if !sameTime(listed.FinishedAt, rec.FinishedAt) {
		add("finished_at", formatTime(listed.FinishedAt), formatTime(rec.FinishedAt), c.statusSeq)
	}
	return ms
}

// sameTime says whether a summary's time is a record's: a store may keep
// summary times to the microsecond only (records keep nanoseconds).
func sameTime(listed, rec time.Time) bool {
	if listed.IsZero() || rec.IsZero() {
		return listed.IsZero() == rec.IsZero()
	}
	d := listed.Sub(rec)
	return d > -time.Microsecond && d < time.Microsecond
}

// micros is t to the microsecond, as a store may keep it; 0 for none.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Round(time.Microsecond).UnixNano()
}

// fill replaces the fields of the summary r that the records hold with
// what they say.
func (c *recorded) fill(r *Run) {
	r.Runbook, r.Version, r.Actor, r.DryRun, r.Parent = c.run.Runbook, c.run.Version, c.run.Actor, c.run.DryRun, c.run.Parent
	r.StartedAt, r.Status, r.FinishedAt = c.run.StartedAt, c.run.Status, c.run.FinishedAt
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// runMark is what Verify keeps of a run's summary fields while it walks
// the records: a digest of what run.started says, and the status. A
// summary is checked against it; only a run whose summary differs is
// read again, to name the field.
type runMark struct {
	started  [16]byte
	status   string
	finished int64 // micros of the end; 0 when not ended
}

// markOf is the mark of a summary's fields. Times are taken to the
// microsecond: a mark that differs only by a rounding is read again, and
// found equal (sameTime).
func markOf(r *Run) runMark {
	return runMark{started: startedDigest(r), status: r.Status, finished: micros(r.FinishedAt)}
}

// startedDigest digests the fields of a summary that run.started holds.
func startedDigest(r *Run) [16]byte {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{r.Runbook, r.Version, r.Actor, r.Parent} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	dry := byte(0)
	if r.DryRun {
		dry = 1
	}
	binary.BigEndian.PutUint64(n[:], uint64(micros(r.StartedAt)))
	h.Write([]byte{dry})
	h.Write(n[:])
	var d [16]byte
	copy(d[:], h.Sum(nil))
	return d
}

// markRecord updates the run's mark with one of its records, in order,
// decoding only run.started, run.resumed and run.finished. It returns the
// run.started data, nil for other records.
func (m *runMark) markRecord(r Record) *Data {
	switch engine.EventType(r.Type) {
	case engine.RunStarted:
		d := &Data{}
		_ = json.Unmarshal(r.Data, d) // a record that verified is JSON
		var c recorded
		c.apply(r, d)
		*m = markOf(&c.run)
		return d
	case engine.RunResumed:
		m.status, m.finished = string(engine.StatusRunning), 0
	case engine.RunFinished:
		var d struct {
			Status engine.Status `json:"status"`
		}
		_ = json.Unmarshal(r.Data, &d)
		m.status, m.finished = string(d.Status), micros(finishedAt(r, d.Status))
	}
	return nil
}

// applyRecord is apply for the records that bear on the summary, decoding
// only those.
func (c *recorded) applyRecord(r Record) error {
	switch engine.EventType(r.Type) {
	case engine.RunStarted, engine.RunResumed, engine.RunFinished:
		d, err := r.Decode()
		if err != nil {
			return fmt.Errorf("journal: record %d of run %s: %w", r.Seq, r.RunID, err)
		}
		c.apply(r, d)
	}
	return nil
}

// summaryProblem reads the run's records again and names the first field
// of its listed summary that differs from them, if any.
func summaryProblem(ctx context.Context, s Reader, listed Run) (*Problem, error) {
	var c recorded
	if err := s.Records(ctx, listed.ID, time.Time{}, c.applyRecord); err != nil {
		return nil, err
	}
	return mismatchProblem(listed.ID, c.mismatches(listed)), nil
}

// mismatchProblem is the problem of the first mismatch, if any.
func mismatchProblem(runID string, ms []Mismatch) *Problem {
	if len(ms) == 0 {
		return nil
	}
	return &Problem{RunID: runID, Reason: ms[0].String() + ": the runs list was changed"}
}
