package journal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

// export returns the export's lines, without their newlines.
func export(t *testing.T, f *fixture, runID string, since time.Time) []string {
	t.Helper()
	var buf bytes.Buffer
	n, err := journal.Export(context.Background(), f.s, &buf, runID, since)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if n != len(lines)-1 {
		t.Fatalf("Export says %d records, wrote %d lines", n, len(lines))
	}
	return lines
}

func verifyLines(t *testing.T, lines []string, end string) journal.FileReport {
	t.Helper()
	rep, err := journal.VerifyFile(strings.NewReader(strings.Join(lines, "\n") + end))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestExportLines(t *testing.T) {
	f := newFixture(t)
	before := time.Now()
	lines := export(t, f, "", time.Time{})
	if len(lines) != 16 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines[:15] {
		if l != string(f.recs[i].Line()) {
			t.Fatalf("line %d: %s", i+1, l)
		}
	}
	end := lines[15]
	i := strings.LastIndex(end, `,"hash":"`)
	body := end[:i] + "}"
	if want := `,"hash":"` + journal.HashBody([]byte(body)) + `"}`; end[i:] != want {
		t.Fatalf("trailer hash: %s", end)
	}
	var tr struct {
		Type     string `json:"type"`
		Time     string `json:"time"`
		RunID    string `json:"run_id"`
		Since    string `json:"since"`
		FirstSeq int64  `json:"first_seq"`
		LastSeq  int64  `json:"last_seq"`
		Records  int    `json:"records"`
		LastHash string `json:"last_hash"`
		HeadSeq  int64  `json:"head_seq"`
		HeadHash string `json:"head_hash"`
	}
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339Nano, tr.Time)
	if err != nil || at.Before(before.Truncate(time.Second)) || !strings.HasSuffix(tr.Time, "Z") {
		t.Fatalf("trailer time %q: %v", tr.Time, err)
	}
	if tr.Type != "export.end" || tr.RunID != "" || tr.Since != "" || tr.FirstSeq != 1 || tr.LastSeq != 15 ||
		tr.Records != 15 || tr.LastHash != f.rec(15).Hash || tr.HeadSeq != 15 || tr.HeadHash != f.rec(15).Hash {
		t.Fatalf("trailer: %s", body)
	}
	if !strings.HasPrefix(end, `{"type":"export.end","time":"`) {
		t.Fatalf("trailer layout: %s", end)
	}
	since := export(t, f, runC, f.rec(13).Time)
	if len(since) != 4 || since[0] != string(f.rec(13).Line()) ||
		!strings.Contains(since[3], `"run_id":"`+runC+`","since":"2026-11-21T10:15:15Z","first_seq":13,"last_seq":15,"records":3,`) ||
		!strings.Contains(since[3], `,"head_seq":15,"head_hash":"`+f.rec(15).Hash+`","hash":"`) {
		t.Fatalf("run and since: %v", since)
	}
}

func TestExportUnknownRun(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	if n, err := journal.Export(context.Background(), f.s, &buf, "nope", time.Time{}); !errors.Is(err, journal.ErrRunNotFound) || n != 0 || buf.Len() != 0 {
		t.Fatalf("%d, %v, %q", n, err, buf.String())
	}
}

func TestVerifyFileClean(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name  string
		run   string
		since time.Time
		want  journal.FileReport
	}{
		{"whole", "", time.Time{}, journal.FileReport{Report: journal.Report{Records: 15, Runs: 3, Head: f.rec(15).Hash},
			FirstSeq: 1, LastSeq: 15, HeadSeq: 15, HeadHash: f.rec(15).Hash}},
		{"one run", runB, time.Time{}, journal.FileReport{Report: journal.Report{Records: 5, Runs: 1, Head: f.rec(10).Hash},
			RunID: runB, FirstSeq: 6, LastSeq: 10, HeadSeq: 15, HeadHash: f.rec(15).Hash}},
		{"since", "", f.rec(8).Time, journal.FileReport{Report: journal.Report{Records: 8, Runs: 2, Head: f.rec(15).Hash},
			Since: "2026-11-21T10:15:10Z", FirstSeq: 8, LastSeq: 15, HeadSeq: 15, HeadHash: f.rec(15).Hash}},
		{"one run, since", runB, f.rec(8).Time, journal.FileReport{Report: journal.Report{Records: 3, Runs: 1, Head: f.rec(10).Hash},
			RunID: runB, Since: "2026-11-21T10:15:10Z", FirstSeq: 8, LastSeq: 10, HeadSeq: 15, HeadHash: f.rec(15).Hash}},
		{"nothing since", "", t0.Add(time.Hour), journal.FileReport{Since: "2026-11-21T11:15:02Z", HeadSeq: 15, HeadHash: f.rec(15).Hash}},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := export(t, f, c.run, c.since)
			for _, end := range []string{"\n", "\r\n", "", "\n\n"} {
				text := strings.Join(lines, strings.TrimSuffix(end, "\n")+"\n") + end
				rep, err := journal.VerifyFile(strings.NewReader(text))
				if err != nil {
					t.Fatal(err)
				}
				if rep != c.want {
					t.Fatalf("ending %q: got %+v (%v), want %+v", end, rep, rep.Problem, c.want)
				}
			}
		})
	}
}

func forgedLine(seq int64, runID string, prev, runPrev journal.Record) string {
	return string(journal.Seal(seq, runID, prev.Hash, runPrev.Hash,
		journal.Entry{Type: "step.finished", Time: prev.Time, Data: []byte(`{"forged":true}`)}).Line())
}

// retrail rewrites the export.end line's body and rehashes it.
func retrail(line, old, new string) string {
	i := strings.LastIndex(line, `,"hash":"`)
	body := strings.Replace(line[:i]+"}", old, new, 1)
	return body[:len(body)-1] + `,"hash":"` + journal.HashBody([]byte(body)) + `"}`
}

func TestVerifyFileTampered(t *testing.T) {
	const (
		changed   = "its content does not match its hash: it was changed"
		runPrev   = "its run_prev does not match the run's previous record"
		truncated = "it is not a complete record: the export was truncated"
	)
	at := func(line int, r journal.Record, reason string) journal.Problem {
		p := problemOf(r, reason)
		p.Line = line
		return p
	}
	for _, c := range []struct {
		name   string
		run    string
		since  int64 // export from the time of this record
		tamper func(f *fixture, l []string) []string
		end    string // after the last line; "\n" when empty
		want   func(f *fixture) journal.Problem
	}{{
		name: "a byte edited",
		tamper: func(f *fixture, l []string) []string {
			l[6] = strings.Replace(l[6], "record 7", "record 9", 1)
			return l
		},
		want: func(f *fixture) journal.Problem { return at(7, f.rec(7), changed) },
	}, {
		name:   "a line deleted",
		tamper: func(f *fixture, l []string) []string { return del(l, 6) },
		want:   func(f *fixture) journal.Problem { return at(7, f.rec(8), "record 7 is missing: deleted") },
	}, {
		name:   "the first line deleted",
		tamper: func(f *fixture, l []string) []string { return del(l, 0) },
		want:   func(f *fixture) journal.Problem { return at(1, f.rec(2), "record 1 is missing: deleted") },
	}, {
		name:   "two lines swapped",
		tamper: func(f *fixture, l []string) []string { l[6], l[7] = l[7], l[6]; return l },
		want:   func(f *fixture) journal.Problem { return at(8, f.rec(7), "record seq 7 comes after seq 8: reordered") },
	}, {
		name:   "two distant lines swapped",
		tamper: func(f *fixture, l []string) []string { l[2], l[11] = l[11], l[2]; return l },
		want:   func(f *fixture) journal.Problem { return at(4, f.rec(4), "record seq 4 comes after seq 12: reordered") },
	}, {
		name: "a forged line inserted",
		tamper: func(f *fixture, l []string) []string {
			return ins(l, 7, forgedLine(8, runB, f.rec(7), f.rec(7)))
		},
		want: func(f *fixture) journal.Problem {
			return at(9, f.rec(8), "record seq 8 appears twice: inserted or duplicated")
		},
	}, {
		name:   "a line duplicated",
		tamper: func(f *fixture, l []string) []string { return ins(l, 7, l[6]) },
		want: func(f *fixture) journal.Problem {
			return at(8, f.rec(7), "record seq 7 appears twice: inserted or duplicated")
		},
	}, {
		name:   "a line that is not a record",
		tamper: func(f *fixture, l []string) []string { return ins(l, 4, "hello") },
		want:   func(f *fixture) journal.Problem { return journal.Problem{Line: 5, Reason: "not a JSON record"} },
	}, {
		name:   "truncated at a line boundary",
		tamper: func(f *fixture, l []string) []string { return l[:10] },
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Reason: "the export ends without its export.end line: it was truncated after record 10"}
		},
	}, {
		name:   "truncated inside a line",
		tamper: func(f *fixture, l []string) []string { l[9] = l[9][:len(l[9])/2]; return l[:10] },
		end:    "none",
		want:   func(f *fixture) journal.Problem { return journal.Problem{Line: 10, Reason: truncated} },
	}, {
		name:   "truncated inside the hash",
		tamper: func(f *fixture, l []string) []string { l[9] = l[9][:len(l[9])-3]; return l[:10] },
		end:    "none",
		want:   func(f *fixture) journal.Problem { return journal.Problem{Line: 10, Reason: truncated} },
	}, {
		name:   "the export.end line removed",
		tamper: func(f *fixture, l []string) []string { return l[:15] },
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Reason: "the export ends without its export.end line: it was truncated after record 15"}
		},
	}, {
		name:   "empty",
		tamper: func(f *fixture, l []string) []string { return nil },
		end:    "none",
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Reason: "the export has no records and no export.end line: it was truncated"}
		},
	}, {
		name:   "the last record deleted",
		tamper: func(f *fixture, l []string) []string { return del(l, 14) },
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Line: 15, Reason: "the export.end line says the last record is 15 but it is 14: records at the end were removed"}
		},
	}, {
		name: "a forged record added at the end",
		tamper: func(f *fixture, l []string) []string {
			return ins(l, 15, forgedLine(16, runC, f.rec(15), f.rec(15)))
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Line: 17, Reason: "the export.end line says the last record is 15 but it is 16: records were added at the end"}
		},
	}, {
		name: "the export.end line edited",
		tamper: func(f *fixture, l []string) []string {
			l[15] = strings.Replace(l[15], `"records":15`, `"records":16`, 1)
			return l
		},
		want: func(f *fixture) journal.Problem { return journal.Problem{Line: 16, Reason: changed} },
	}, {
		name: "the export.end line edited and rehashed",
		tamper: func(f *fixture, l []string) []string {
			l[15] = retrail(l[15], `"records":15`, `"records":16`)
			return l
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Line: 16, Reason: "the export.end line counts 16 records but the export has 15: records were removed or inserted"}
		},
	}, {
		name:   "a line after the export.end line",
		tamper: func(f *fixture, l []string) []string { return append(l, l[14]) },
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Line: 17, Reason: "it comes after the export.end line: lines were added"}
		},
	}, {
		name:   "one run: its first line deleted",
		run:    runB,
		tamper: func(f *fixture, l []string) []string { return del(l, 0) },
		want: func(f *fixture) journal.Problem {
			return at(1, f.rec(7), "the run's first record is step.started, not run.started: its start was removed")
		},
	}, {
		name:   "one run: a line deleted",
		run:    runB,
		tamper: func(f *fixture, l []string) []string { return del(l, 2) },
		want:   func(f *fixture) journal.Problem { return at(3, f.rec(9), runPrev) },
	}, {
		name:   "one run: two lines swapped",
		run:    runB,
		tamper: func(f *fixture, l []string) []string { l[1], l[3] = l[3], l[1]; return l },
		want:   func(f *fixture) journal.Problem { return at(2, f.rec(9), runPrev) },
	}, {
		name:   "one run: another run's record inserted",
		run:    runB,
		tamper: func(f *fixture, l []string) []string { return ins(l, 0, string(f.rec(1).Line())) },
		want: func(f *fixture) journal.Problem {
			return at(1, f.rec(1), "it belongs to run "+runA+", not to the exported run "+runB+": it was inserted")
		},
	}, {
		name:   "since: the first line deleted",
		since:  8,
		tamper: func(f *fixture, l []string) []string { return del(l, 0) },
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Line: 8, Reason: "the export.end line says the first record is 8 but it is 9: records at the start were removed"}
		},
	}, {
		name:   "since: a line deleted",
		since:  8,
		tamper: func(f *fixture, l []string) []string { return del(l, 4) },
		want:   func(f *fixture) journal.Problem { return at(5, f.rec(13), "record 12 is missing: deleted") },
	}, {
		name:   "since: an older record inserted",
		since:  8,
		tamper: func(f *fixture, l []string) []string { return ins(l, 0, string(f.rec(3).Line())) },
		want: func(f *fixture) journal.Problem {
			return at(1, f.rec(3), "its time is before the export's since, 2026-11-21T10:15:10Z: it was inserted")
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			var since time.Time
			if c.since > 0 {
				since = f.rec(c.since).Time
			}
			lines := c.tamper(f, export(t, f, c.run, since))
			end := "\n"
			if c.end == "none" || len(lines) == 0 {
				end = ""
			}
			checkProblem(t, verifyLines(t, lines, end).Problem, c.want(f))
		})
	}
}

func del(l []string, i int) []string { return append(l[:i:i], l[i+1:]...) }

func ins(l []string, i int, line string) []string {
	return append(append(l[:i:i], line), l[i:]...)
}

func TestVerifyFileLongLine(t *testing.T) {
	r := strings.NewReader("{" + strings.Repeat(" ", journal.MaxLine+1) + "}\n")
	rep, err := journal.VerifyFile(r)
	if err != nil {
		t.Fatal(err)
	}
	checkProblem(t, rep.Problem, journal.Problem{Line: 1, Reason: "it is longer than 64 MiB: not a record"})
}

// TestExportSinceContiguous: record times do not rise with seq (a cancel
// recorded by another process, whose clock is behind). An export --since
// is the contiguous range of seq from the first record at or after since,
// and checks on its own: the older record inside it is kept.
func TestExportSinceContiguous(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	for _, e := range []struct {
		run, typ string
		sec      float64
	}{
		{runA, "run.started", 1},
		{runA, "step.started", 3},
		{runA, "run.cancel_requested", 2.5}, // from another process
		{runA, "run.finished", 4},
		{runB, "run.started", 5},
	} {
		if _, err := s.Append(ctx, journal.Batch{RunID: e.run, Entries: []journal.Entry{{Type: e.typ, Time: at(e.sec), Data: []byte(`{}`)}},
			Run: &journal.Run{ID: e.run, Runbook: "deploy", Status: "running", StartedAt: at(e.sec)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		run  string
		want []int64
	}{
		{"whole journal", "", []int64{2, 3, 4, 5}},
		{"one run", runA, []int64{2, 3, 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := journal.Export(ctx, s, &buf, c.run, at(3))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			var got []int64
			for _, l := range lines[:len(lines)-1] {
				r, err := journal.ParseLine([]byte(l))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r.Seq)
			}
			if n != len(c.want) || fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("exported seqs %v (%d), want %v", got, n, c.want)
			}
			rep, err := journal.VerifyFile(strings.NewReader(buf.String()))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Problem != nil {
				t.Fatalf("steward's own export does not verify: %v", rep.Problem)
			}
		})
	}
}
