package journaltest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

func (x *suite) testAppend(t *testing.T) {
	t.Run("Seals", x.appendSeals)
	t.Run("MultilineData", x.appendMultiline)
	t.Run("RunSummary", x.appendRunSummary)
	t.Run("Source", x.appendSource)
	t.Run("Refused", x.appendRefused)
	t.Run("Text", x.appendText)
}

// Records are sealed in order: seq from 1, prev_hash linking each to the
// record before it in the whole journal, run_prev to the run's previous
// record; each is what journal.Seal makes of its entry, its data byte for
// byte. Head is the last record; reads give the records Append returned.
func (x *suite) appendSeals(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	checkHead(t, s, 0, "")
	if got := records(t, s, "", time.Time{}); len(got) != 0 {
		t.Fatalf("an empty store has records %v", seqs(got))
	}
	if _, ok, err := s.Record(ctx, 1); err != nil || ok {
		t.Fatalf("Record(1) of an empty store: ok %v, %v", ok, err)
	}

	cet := time.FixedZone("CET", 3600)
	// Data the store keeps as it is: spaces, escapes, non-ASCII, HTML
	// characters, numbers as written, keys out of order.
	const odd = `{"z": 1.50, "a":["é\u00e9 <&>", "\"quoted\"\t"], "n":null,"deep":{"x":[{}]}}`
	a1 := journal.Entry{Type: "run.started", Time: t0.In(cet), Data: json.RawMessage(odd)}
	a2 := journal.Entry{Type: "step.started", Time: at(1)} // no data: {}
	b1 := entry("run.started", 2, `{"runbook":"backup"}`)
	a3 := entry("step.finished", 3, `{"step":"s1","status":"succeeded"}`)
	a4 := entry("run.finished", 4, `{}`)

	recs := mustAppend(t, s, journal.Batch{RunID: "a", Entries: []journal.Entry{a1, a2}})
	recs = append(recs, mustAppend(t, s, journal.Batch{RunID: "b", Entries: []journal.Entry{b1}})...)
	recs = append(recs, mustAppend(t, s, journal.Batch{RunID: "a", Entries: []journal.Entry{a3, a4}})...)

	r1 := journal.Seal(1, "a", "", "", a1)
	r2 := journal.Seal(2, "a", r1.Hash, r1.Hash, a2)
	r3 := journal.Seal(3, "b", r2.Hash, "", b1)
	r4 := journal.Seal(4, "a", r3.Hash, r2.Hash, a3)
	r5 := journal.Seal(5, "a", r4.Hash, r4.Hash, a4)
	want := []journal.Record{r1, r2, r3, r4, r5}
	checkRecords(t, "Append", recs, want)
	if string(recs[0].Data) != odd || string(recs[1].Data) != `{}` {
		t.Fatalf("data %s and %s; want %s and {}", recs[0].Data, recs[1].Data, odd)
	}
	if !recs[0].Time.Equal(t0) || recs[0].Time.Location() != time.UTC {
		t.Fatalf("time %v, want %v", recs[0].Time, t0)
	}
	checkHead(t, s, 5, r5.Hash)
	checkRecords(t, "Records", records(t, s, "", time.Time{}), want)
	for _, r := range want {
		got, ok, err := s.Record(ctx, r.Seq)
		if err != nil || !ok {
			t.Fatalf("Record(%d): ok %v, %v", r.Seq, ok, err)
		}
		checkRecords(t, "Record", []journal.Record{got}, []journal.Record{r})
	}
	// Another handle reads the same.
	checkRecords(t, "Records through another handle", records(t, x.h.Reopen(t, s), "", time.Time{}), want)
}

// Data spread over lines is sealed compact: a record is one line.
func (x *suite) appendMultiline(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	e := entry("run.started", 0, "{\n  \"spread\": \"over lines\",\r\n  \"n\": [1,\n 2]\n}")
	recs := mustAppend(t, s, journal.Batch{RunID: "a", Entries: []journal.Entry{e}})
	compact := e
	compact.Data = json.RawMessage(`{"spread":"over lines","n":[1,2]}`)
	want := []journal.Record{journal.Seal(1, "a", "", "", compact)}
	checkRecords(t, "Append", recs, want)
	checkRecords(t, "Records", records(t, s, "a", time.Time{}), want)
}

// A batch's Run inserts or replaces the run's summary; a batch without
// one keeps it; a batch of a summary alone writes no record.
func (x *suite) appendRunSummary(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	cet := time.FixedZone("CET", 3600)
	run := journal.Run{ID: "a", Runbook: "deploy", Version: "v1", Actor: "ann", Status: "running", DryRun: true,
		Parent: "p", StartedAt: t0.In(cet), UpdatedAt: at(1).In(cet), Host: "h1", PID: 7}
	if _, err := s.Run(ctx, "a"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Fatalf("Run before any batch: %v", err)
	}
	// Records without a summary: the run is not listed.
	recs := mustAppend(t, s, journal.Batch{RunID: "a", Entries: []journal.Entry{entry("run.started", 0, "")}})
	if _, err := s.Run(ctx, "a"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Fatalf("Run of records without a summary: %v", err)
	}
	checkRun := func(want journal.Run) {
		t.Helper()
		want.StartedAt, want.UpdatedAt = want.StartedAt.UTC(), want.UpdatedAt.UTC()
		if !want.FinishedAt.IsZero() {
			want.FinishedAt = want.FinishedAt.UTC()
		}
		for _, st := range []journal.Store{s, other} {
			got, err := st.Run(ctx, want.ID)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Run(%s) = %+v, %v\nwant %+v", want.ID, got, err, want)
			}
		}
	}
	recs = append(recs, mustAppend(t, s, journal.Batch{RunID: "a", Run: &run, Entries: []journal.Entry{entry("step.started", 1, "")}})...)
	checkRun(run)

	// Replaced as a whole: fields left empty are emptied.
	second := journal.Run{ID: "a", Runbook: "deploy", Status: "succeeded", StartedAt: t0, UpdatedAt: at(9), FinishedAt: at(9).In(cet)}
	recs = append(recs, mustAppend(t, other, journal.Batch{RunID: "a", Run: &second, Entries: []journal.Entry{entry("run.finished", 9, "")}})...)
	checkRun(second)
	recs = append(recs, mustAppend(t, s, journal.Batch{RunID: "a", Entries: []journal.Entry{entry("run.resumed", 10, "")}})...)
	checkRun(second)
	checkHead(t, s, 4, recs[3].Hash)

	// A summary alone: no record, the head stays.
	third := second
	third.Status, third.FinishedAt = "running", time.Time{}
	got, err := s.Append(ctx, journal.Batch{RunID: "a", Run: &third})
	if err != nil || len(got) != 0 {
		t.Fatalf("a summary-only batch: %d records, %v", len(got), err)
	}
	checkRun(third)
	checkHead(t, s, 4, recs[3].Hash)
	checkRecords(t, "Records after a summary-only batch", records(t, s, "", time.Time{}), recs)
}

// A batch's Source is stored once per hash, whatever batch brings it,
// and Source reads it back.
func (x *suite) appendSource(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	if _, err := s.Source(ctx, "v1"); !errors.Is(err, journal.ErrSourceNotFound) {
		t.Fatalf("Source of an empty store: %v", err)
	}
	src := journal.Source{SHA256: "v1", Name: "deploy", File: "runbooks/deploy.yaml", Src: []byte("version: 1\nname: deploy\nsteps: []\n")}
	mustAppend(t, s, journal.Batch{RunID: "a", Source: &src, Entries: []journal.Entry{entry("run.started", 0, "")}})
	// The same hash again, from another handle and another run: kept as
	// it was first stored.
	again := journal.Source{SHA256: "v1", Name: "other", File: "other.yaml", Src: []byte("changed")}
	mustAppend(t, other, journal.Batch{RunID: "b", Source: &again, Entries: []journal.Entry{entry("run.started", 1, "")}})
	// A batch of a source alone.
	v2 := journal.Source{SHA256: "v2", Name: "backup", File: "bundled/backup.yaml", Src: []byte("version: 1\n")}
	if recs, err := other.Append(ctx, journal.Batch{RunID: "b", Source: &v2}); err != nil || len(recs) != 0 {
		t.Fatalf("a source-only batch: %d records, %v", len(recs), err)
	}
	for _, st := range []journal.Store{s, other} {
		for _, want := range []journal.Source{src, v2} {
			if got, err := st.Source(ctx, want.SHA256); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Source(%s) = %+v, %v\nwant %+v", want.SHA256, got, err, want)
			}
		}
		if _, err := st.Source(ctx, "v3"); !errors.Is(err, journal.ErrSourceNotFound) {
			t.Fatalf("Source(v3): %v", err)
		}
	}
}

// A batch with bad input is refused whole: no record, no summary, no
// source, no cancel request is written, and the next batch is sealed as
// if it had never been tried.
func (x *suite) appendRefused(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	run := &journal.Run{ID: "a", Runbook: "deploy", Status: "running", StartedAt: t0, UpdatedAt: t0}
	src := &journal.Source{SHA256: "v1", Name: "deploy", File: "deploy.yaml", Src: []byte("steps: []\n")}
	good := entry("run.started", 0, `{"x":1}`)
	for _, c := range []struct {
		name string
		b    journal.Batch
		want string
	}{
		{"no run id", journal.Batch{Entries: []journal.Entry{good}},
			"journal: append: the batch has no run id"},
		{"summary of another run", journal.Batch{RunID: "b", Run: run, Entries: []journal.Entry{good}},
			"journal: append: the batch is for run b but its summary is for run a"},
		{"entry without a type", journal.Batch{RunID: "a", Run: run, Source: src, Entries: []journal.Entry{good, entry("", 1, `{}`)}},
			"journal: append: entry 1 of run a has no type"},
		{"data not JSON", journal.Batch{RunID: "a", Run: run, Source: src, Entries: []journal.Entry{good, entry("step.started", 1, `{"a":`)}},
			"journal: append: step.started entry of run a: its data is not valid JSON"},
		{"data an array", journal.Batch{RunID: "a", Run: run, Source: src, Cancel: true, Entries: []journal.Entry{good, entry("step.started", 1, `[1]`)}},
			"journal: append: step.started entry of run a: its data is not a JSON object"},
		{"data a string", journal.Batch{RunID: "a", Entries: []journal.Entry{entry("step.started", 1, `"{}"`)}},
			"journal: append: step.started entry of run a: its data is not a JSON object"},
		{"data two objects", journal.Batch{RunID: "a", Entries: []journal.Entry{entry("step.started", 1, `{} {}`)}},
			"journal: append: step.started entry of run a: its data is not valid JSON"},
		{"a once key without entries", journal.Batch{RunID: "a", Run: run, Once: "q"},
			`journal: append: the batch of run a claims "q" but has no entries`},
	} {
		recs, err := s.Append(ctx, c.b)
		if err == nil || err.Error() != c.want || recs != nil {
			t.Errorf("%s: %d records, %v\nwant %s", c.name, len(recs), err, c.want)
		}
	}
	checkHead(t, s, 0, "")
	if got := records(t, s, "", time.Time{}); len(got) != 0 {
		t.Fatalf("refused batches wrote records %v", seqs(got))
	}
	if runs := listRuns(t, s, journal.Filter{}); len(runs) != 0 {
		t.Fatalf("refused batches wrote summaries %+v", runs)
	}
	if _, err := s.Source(ctx, "v1"); !errors.Is(err, journal.ErrSourceNotFound) {
		t.Fatalf("refused batches stored a source: %v", err)
	}
	recs := mustAppend(t, s, journal.Batch{RunID: "a", Entries: []journal.Entry{good}})
	checkRecords(t, "the next batch", recs, []journal.Record{journal.Seal(1, "a", "", "", good)})
	l := lease("a", "me", t0, 15*time.Second)
	if err := s.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	if r, err := s.RenewLease(ctx, l); err != nil || r.Cancel != nil {
		t.Fatalf("a refused batch recorded a cancel request: %+v, %v", r.Cancel, err)
	}
}

func (x *suite) testRecords(t *testing.T) {
	t.Run("Order", x.recordsOrder)
}

// Records gives a run's records, or every run's, in seq order, from a
// time on; Record one by seq.
func (x *suite) recordsOrder(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	// Record times are not in seq order: since filters by time, not seq.
	var all []journal.Record
	for _, b := range []journal.Batch{
		{RunID: "a", Entries: []journal.Entry{entry("run.started", 0, ""), entry("step.started", 10, "")}},
		{RunID: "b", Entries: []journal.Entry{entry("run.started", 5, "")}},
		{RunID: "a", Entries: []journal.Entry{entry("step.finished", 20, "")}},
		{RunID: "b", Entries: []journal.Entry{entry("run.finished", 15, ""), entry("run.resumed", 30, "")}},
	} {
		all = append(all, mustAppend(t, s, b)...)
	}
	pick := func(seqs ...int64) []journal.Record {
		var recs []journal.Record
		for _, n := range seqs {
			recs = append(recs, all[n-1])
		}
		return recs
	}
	for _, c := range []struct {
		run   string
		since time.Time
		want  []journal.Record
	}{
		{"", time.Time{}, all},
		{"a", time.Time{}, pick(1, 2, 4)},
		{"b", time.Time{}, pick(3, 5, 6)},
		{"", at(10), pick(2, 4, 5, 6)}, // since is inclusive
		{"", at(10).Add(time.Microsecond), pick(4, 5, 6)},
		{"a", at(10), pick(2, 4)},
		{"b", at(5), pick(3, 5, 6)},
		{"b", at(31), nil},
		{"nope", time.Time{}, nil},
	} {
		checkRecords(t, "Records("+c.run+", "+c.since.Format(time.RFC3339Nano)+")", records(t, s, c.run, c.since), c.want)
	}
	// fn's error ends the walk and is returned.
	stop := errors.New("stop")
	n := 0
	if err := s.Records(ctx, "", time.Time{}, func(journal.Record) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Records with fn failing: %v after %d calls; want stop after 1", err, n)
	}
	for _, seq := range []int64{0, -1, 7} {
		if r, ok, err := s.Record(ctx, seq); err != nil || ok {
			t.Fatalf("Record(%d) = %+v, ok %v, %v", seq, r, ok, err)
		}
	}
	checkHead(t, s, 6, all[5].Hash)
}

// Text a store cannot keep as it is (not UTF-8, or NUL) in a run's id,
// summary, keys or source is refused before anything is written, naming
// the field: the summary must read as the records do (JSON would replace
// invalid UTF-8 there, and Verify would take that for an edit). Records'
// data are bytes and kept as they are.
func (x *suite) appendText(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	for _, c := range []struct {
		b    journal.Batch
		want string
	}{
		{journal.Batch{RunID: "a\xff", Entries: []journal.Entry{entry("run.started", 0, `{}`)}},
			`journal: append: the batch of run "a\xff": its run id "a\xff" is not UTF-8 text without NUL`},
		{journal.Batch{RunID: "a", Run: &journal.Run{ID: "a", Actor: "bad\xffname"}, Entries: []journal.Entry{entry("run.started", 0, `{}`)}},
			`journal: append: the batch of run "a": its actor "bad\xffname" is not UTF-8 text without NUL`},
		{journal.Batch{RunID: "a", Source: &journal.Source{SHA256: "1", File: "x\x00.yaml"}},
			`journal: append: the batch of run "a": its source file "x\x00.yaml" is not UTF-8 text without NUL`},
		{journal.Batch{RunID: "a", Key: "hook/\xff", Entries: []journal.Entry{entry("run.started", 0, `{}`)}},
			`journal: append: the batch of run "a": its key "hook/\xff" is not UTF-8 text without NUL`},
	} {
		if recs, err := s.Append(ctx, c.b); err == nil || err.Error() != c.want || recs != nil {
			t.Errorf("%d records, %v\nwant %s", len(recs), err, c.want)
		}
	}
	checkHead(t, s, 0, "")
	recs, err := s.Append(ctx, journal.Batch{RunID: "a", Entries: []journal.Entry{entry("step.log", 1, `{"bytes":"\u00ff\u0000"}`)}})
	if err != nil || recs[0].Seq != 1 {
		t.Fatalf("a record with escaped bytes in its data: %v", err)
	}
}
