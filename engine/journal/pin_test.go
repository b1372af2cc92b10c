package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// forgeEnd replaces the export.end line with one that describes the
// records above it, as someone who removed records would: counts, first
// and last record, head; since replaces its since when not "-".
func forgeEnd(t *testing.T, lines []string, since string) []string {
	t.Helper()
	end := lines[len(lines)-1]
	i := strings.LastIndex(end, `,"hash":"`)
	var tr map[string]any
	if err := json.Unmarshal([]byte(end[:i]+"}"), &tr); err != nil {
		t.Fatal(err)
	}
	recs := lines[:len(lines)-1]
	var first, last journal.Record
	for j, l := range recs {
		r, err := journal.ParseLine([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		if j == 0 {
			first = r
		}
		last = r
	}
	if since != "-" {
		tr["since"] = since
	}
	body := fmt.Sprintf(`{"type":"export.end","time":%q,"run_id":%q,"since":%q,"first_seq":%d,"last_seq":%d,"records":%d,"last_hash":%q,"head_seq":%d,"head_hash":%q}`,
		tr["time"], tr["run_id"], tr["since"], first.Seq, last.Seq, len(recs), last.Hash, last.Seq, last.Hash)
	out := append([]string(nil), recs...)
	return append(out, body[:len(body)-1]+`,"hash":"`+journal.HashBody([]byte(body))+`"}`)
}

// rewrite re-seals every record line from seq from on, with from's data
// replaced: the chain stays consistent, as someone with write access to
// the whole journal would make it.
func rewrite(t *testing.T, lines []string, from int64, data string) []string {
	t.Helper()
	out := append([]string(nil), lines...)
	prev := ""
	runPrev := map[string]string{}
	for j, l := range lines {
		r, err := journal.ParseLine([]byte(l))
		if err != nil {
			break // the export.end line
		}
		if r.Seq >= from {
			d := r.Data
			if r.Seq == from {
				d = json.RawMessage(data)
			}
			r = journal.Seal(r.Seq, r.RunID, prev, runPrev[r.RunID], journal.Entry{Type: r.Type, Time: r.Time, Data: d})
			out[j] = string(r.Line())
		}
		prev, runPrev[r.RunID] = r.Hash, r.Hash
	}
	return out
}

func verifyPinned(t *testing.T, lines []string, pins ...journal.Pin) journal.FileReport {
	t.Helper()
	rep, err := journal.VerifyFile(strings.NewReader(strings.Join(lines, "\n")+"\n"), pins...)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestVerifyFileSinceGaps: an export --since is a contiguous range of
// seq: a record, or a whole run, removed from it is missing, even with
// export.end recomputed, and so in a whole export relabelled as --since.
func TestVerifyFileSinceGaps(t *testing.T) {
	f := newFixture(t)
	at := func(line int, r journal.Record, reason string) journal.Problem {
		p := problemOf(r, reason)
		p.Line = line
		return p
	}
	since := export(t, f, "", f.rec(3).Time) // records 3..15
	whole := export(t, f, "", time.Time{})
	for _, c := range []struct {
		name  string
		lines []string
		want  journal.Problem
		good  int
	}{
		{"since: a whole run removed", forgeEnd(t, append(append([]string(nil), since[:3]...), since[8:]...), "-"),
			at(4, f.rec(11), "records 6..10 are missing: deleted"), 3},
		{"since: the last record of a run removed", forgeEnd(t, del(since, 2), "-"),
			at(3, f.rec(6), "record 5 is missing: deleted"), 2},
		{"whole, relabelled as since, a run removed", forgeEnd(t, append(append([]string(nil), whole[:5]...), whole[10:]...), f.rec(1).Time.Format(time.RFC3339Nano)),
			at(6, f.rec(11), "records 6..10 are missing: deleted"), 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := verifyPinned(t, c.lines)
			checkProblem(t, rep.Problem, c.want)
			if rep.Records != c.good {
				t.Fatalf("%d good records, want %d", rep.Records, c.good)
			}
		})
	}
}

// TestVerifyFileGoodRecords: the records counted good before a problem
// are those before it, also when the problem is a gap found at the end.
func TestVerifyFileGoodRecords(t *testing.T) {
	f := newFixture(t)
	whole := export(t, f, "", time.Time{})
	for _, c := range []struct {
		name  string
		lines []string
		good  int
	}{
		{"a line deleted", del(whole, 6), 6},
		{"two lines deleted", del(del(whole, 2), 2), 2},
		{"the first line deleted", del(whole, 0), 0},
		{"a byte edited", append(append(append([]string(nil), whole[:4]...), strings.Replace(whole[4], "record 5", "record 6", 1)), whole[5:]...), 4},
		{"the last record deleted, export.end kept", del(whole, 14), 14},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := verifyPinned(t, c.lines)
			if rep.Problem == nil {
				t.Fatal("no problem found")
			}
			if rep.Records != c.good {
				t.Fatalf("%d good records before %v, want %d", rep.Records, rep.Problem, c.good)
			}
		})
	}
}

// TestVerifyFilePins: what an auditor recorded (a head, a last seq, a
// signed checkpoint's record) catches what the export alone cannot: its
// last records removed with export.end recomputed, its first ones removed,
// a chain rewritten from a record on.
func TestVerifyFilePins(t *testing.T) {
	f := newFixture(t)
	whole := export(t, f, "", time.Time{})
	since := export(t, f, "", f.rec(8).Time) // records 8..15
	run := export(t, f, runB, time.Time{})   // records 6..10
	head := journal.Pin{Seq: 15, Hash: f.rec(15).Hash, From: "--head"}
	at := func(line int, r journal.Record, reason string) *journal.Problem {
		p := problemOf(r, reason)
		p.Line = line
		return &p
	}
	noRun := func(reason string) *journal.Problem { return &journal.Problem{Reason: reason} }
	rewritten := forgeEnd(t, rewrite(t, whole, 5, `{"step":"s4","note":"forged"}`), "-")
	forged9, err := journal.ParseLine([]byte(rewritten[8]))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		lines []string
		pins  []journal.Pin
		want  *journal.Problem // nil: verified
		good  int
	}{
		{"whole, pinned at its head", whole, []journal.Pin{head}, nil, 15},
		{"whole, pinned in the middle", whole, []journal.Pin{{Seq: 9, Hash: f.rec(9).Hash, From: "checkpoint a.json"}, {Seq: 3, From: "--last-seq"}}, nil, 15},
		{"the last run removed, export.end recomputed", forgeEnd(t, append(whole[:10:10], whole[15]), "-"), nil, nil, 10},
		{"the last run removed, pinned head", forgeEnd(t, append(whole[:10:10], whole[15]), "-"), []journal.Pin{head},
			noRun("the export ends at record 10, but --head says the journal holds record 15: records at the end were removed, or the export was made before it"), 10},
		{"the last run removed, pinned last seq", forgeEnd(t, append(whole[:10:10], whole[15]), "-"), []journal.Pin{{Seq: 15, From: "--last-seq"}},
			noRun("the export ends at record 10, but --last-seq says the journal holds record 15: records at the end were removed, or the export was made before it"), 10},
		{"since: the last records removed, pinned head", forgeEnd(t, append(since[:6:6], since[8]), "-"), []journal.Pin{head},
			noRun("the export ends at record 13, but --head says the journal holds record 15: records at the end were removed, or the export was made before it"), 6},
		{"rewritten from record 5", rewritten, nil, nil, 15},
		{"rewritten from record 5, pinned at 9", rewritten, []journal.Pin{{Seq: 9, Hash: f.rec(9).Hash, From: "checkpoint a.json"}},
			at(9, f.rec(9), "its hash is "+short(forged9.Hash)+", not "+short(f.rec(9).Hash)+" as checkpoint a.json says: it, or a record before it, was changed, removed or inserted"), 0},
		{"rewritten from record 5, pinned at 4", rewritten, []journal.Pin{{Seq: 4, Hash: f.rec(4).Hash, From: "checkpoint a.json"}}, nil, 15},
		{"since, pinned at the record before it", since, []journal.Pin{{Seq: 7, Hash: f.rec(7).Hash, From: "--head"}}, nil, 8},
		{"since, its first line removed, pinned at the record before it", forgeEnd(t, since[1:], "-"), []journal.Pin{{Seq: 7, Hash: f.rec(7).Hash, From: "--head"}},
			noRun("the export does not hold record 7 of --head, nor the record after it: export the whole journal, or since a time before that record"), 7},
		{"since, pinned with another hash at the record before it", since, []journal.Pin{{Seq: 7, Hash: f.rec(6).Hash, From: "--head"}},
			at(1, f.rec(8), "its prev_hash is "+short(f.rec(7).Hash)+", not "+short(f.rec(6).Hash)+" as --head says of record 7: record 7, or a record before it, was changed, removed or inserted"), 0},
		{"one run, pinned at its record", run, []journal.Pin{{Seq: 8, Hash: f.rec(8).Hash, From: "checkpoint a.json"}}, nil, 5},
		{"one run, pinned elsewhere", run, []journal.Pin{{Seq: 12, Hash: f.rec(12).Hash, From: "checkpoint a.json"}},
			noRun("the export ends at record 10, but checkpoint a.json says the journal holds record 12: records at the end were removed, or the export was made before it"), 5},
		{"one run, pinned before it", run, []journal.Pin{{Seq: 2, Hash: f.rec(2).Hash, From: "checkpoint a.json"}},
			noRun("the export does not hold record 2 of checkpoint a.json, nor the record after it: export the whole journal, or since a time before that record"), 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := verifyPinned(t, c.lines, c.pins...)
			if c.want == nil && rep.Problem != nil {
				t.Fatalf("problem: %v", rep.Problem)
			}
			if c.want != nil {
				checkProblem(t, rep.Problem, *c.want)
			}
			if rep.Records != c.good {
				t.Fatalf("%d good records, want %d", rep.Records, c.good)
			}
		})
	}
}

// TestVerifyPins: the same pins against the store, after Verify.
func TestVerifyPins(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, c := range []struct {
		name string
		pins []journal.Pin
		want *journal.Problem
		good int
	}{
		{"held", []journal.Pin{{Seq: 15, Hash: f.rec(15).Hash, From: "--head"}, {Seq: 3, Hash: f.rec(3).Hash, From: "checkpoint a.json"}, {Seq: 15, From: "--last-seq"}}, nil, 15},
		{"beyond the head", []journal.Pin{{Seq: 16, From: "--last-seq"}},
			&journal.Problem{Reason: "the journal ends at record 15, but --last-seq says it holds record 16: records at the end were removed"}, 15},
		{"another hash", []journal.Pin{{Seq: 3, Hash: f.rec(4).Hash, From: "checkpoint a.json"}},
			&journal.Problem{Seq: 3, RunID: runA, Type: "step.finished", Reason: "its hash is " + short(f.rec(3).Hash) + ", not " + short(f.rec(4).Hash) + " as checkpoint a.json says: it, or a record before it, was changed, removed or inserted"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := journal.VerifyPins(ctx, f.s, verify(t, f.s, ""), c.pins)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil && rep.Problem != nil {
				t.Fatalf("problem: %v", rep.Problem)
			}
			if c.want != nil {
				checkProblem(t, rep.Problem, *c.want)
			}
			if rep.Records != c.good {
				t.Fatalf("%d good records, want %d", rep.Records, c.good)
			}
		})
	}
}

func TestParsePin(t *testing.T) {
	h := strings.Repeat("ab", 32)
	if p, err := journal.ParsePin("21:"+h, "--head"); err != nil || p != (journal.Pin{Seq: 21, Hash: h, From: "--head"}) {
		t.Fatalf("%+v, %v", p, err)
	}
	for _, bad := range []string{"", "21", "21:", ":" + h, "0:" + h, "-1:" + h, "x:" + h, "21:" + h[:63], "21:" + strings.ToUpper(h), "21:" + h + "0"} {
		if _, err := journal.ParsePin(bad, "--head"); err == nil || !strings.HasPrefix(err.Error(), "journal: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
