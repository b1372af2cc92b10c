package main

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
	_ "modernc.org/sqlite"
)

// journalOf3Runs makes a real journal of three runs through the CLI and
// returns its home and the run ids, oldest first.
func journalOf3Runs(t *testing.T) (string, []string) {
	t.Helper()
	home := t.TempDir()
	var ids []string
	for _, who := range []string{"Ana", "Bruno", "Carla"} {
		r := homeRun(t, t.TempDir(), home, nil, "run", "decline-reply", "--input", "decline_code=expired_card", "--input", "customer="+who, "--progress", "plain")
		wantCode(t, r, exitOK, "run")
		ids = append(ids, runID(t, r))
	}
	wantCode(t, homeRun(t, t.TempDir(), home, nil, "audit", "verify"), exitOK, "verify before tampering")
	return home, ids
}

// journalMap is where a real journal's records are, read from its
// export: tests find a record by its run and its place in the run, not by
// a fixed seq. How many records a run writes depends on timing: when the
// recorder writes a batch (at the latest journal.FlushEvery after the
// first record waiting) between a step's start and its first attempt,
// step.started is a record alone and the attempt has its own
// attempt.started; otherwise they are one record.
type journalMap struct {
	recs        []journal.Record // recs[n-1] is record n
	head        int64            // the last record's seq
	first, last map[string]int64 // a run's first and last record, by run id
}

// mapJournal reads the journal of home, whose runs (those of journalOf3Runs,
// and any run after them) each wrote their records in one block of at
// least 7, run.started first and run.finished last.
func mapJournal(t *testing.T, home string) journalMap {
	t.Helper()
	m := journalMap{first: map[string]int64{}, last: map[string]int64{}}
	lines := exportLines(t, home)
	for i, l := range lines[:len(lines)-1] {
		r, err := journal.ParseLine([]byte(strings.TrimSuffix(l, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != int64(i+1) {
			t.Fatalf("export line %d is record %d", i+1, r.Seq)
		}
		if _, ok := m.first[r.RunID]; !ok {
			m.first[r.RunID] = r.Seq
		} else if m.last[r.RunID] != r.Seq-1 {
			t.Fatalf("the records of run %s are not one block: record %d after %d", r.RunID, r.Seq, m.last[r.RunID])
		}
		m.last[r.RunID] = r.Seq
		m.recs = append(m.recs, r)
	}
	m.head = int64(len(m.recs))
	for id, f := range m.first {
		if m.typ(f) != "run.started" || m.typ(m.last[id]) != "run.finished" || m.count(id) < 7 {
			t.Fatalf("run %s: records %d..%d, from %s to %s", id, f, m.last[id], m.typ(f), m.typ(m.last[id]))
		}
	}
	return m
}

// typ is the type of record seq.
func (m journalMap) typ(seq int64) string { return m.recs[seq-1].Type }

// count is how many records run id has.
func (m journalMap) count(id string) int64 { return m.last[id] - m.first[id] + 1 }

// tamper changes the store the way someone with write access to the file
// could, with SQL on the real database.
func tamper(t *testing.T, home string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(home, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if seq, ok := strings.CutPrefix(s, "REHASH "); ok {
			// What a careful forger does: make the hash fit the body.
			var body []byte
			if err := db.QueryRow(`SELECT body FROM records WHERE seq = ?`, seq).Scan(&body); err != nil {
				t.Fatal(err)
			}
			s = fmt.Sprintf(`UPDATE records SET hash = X'%x' WHERE seq = %s`, sha256.Sum256(body), seq)
		}
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestTamperDetected edits, deletes, swaps and forges records of a real
// store and checks that steward audit verify names the first bad record.
// Bruno's run is the second: its records are b, b+1, ...
func TestTamperDetected(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(ids []string, m journalMap) (stmts []string, want string)
	}{
		{"edit a field", func(ids []string, m journalMap) ([]string, string) {
			b := m.first[ids[1]]
			return []string{fmt.Sprintf(`UPDATE records SET body = replace(body, 'Bruno', 'Brian') WHERE seq = %d`, b)},
				fmt.Sprintf("record %d (run %s, run.started): its content does not match its hash: it was changed", b, ids[1])
		}},
		{"edit a field and its hash", func(ids []string, m journalMap) ([]string, string) {
			b := m.first[ids[1]]
			return []string{fmt.Sprintf(`UPDATE records SET body = replace(body, 'Bruno', 'Brian') WHERE seq = %d`, b), fmt.Sprintf(`REHASH %d`, b)},
				fmt.Sprintf("record %d (run %s, %s): its prev_hash does not match record %d: records were reordered, inserted or removed", b+1, ids[1], m.typ(b+1), b)
		}},
		{"delete a record", func(ids []string, m journalMap) ([]string, string) {
			b := m.first[ids[1]]
			return []string{fmt.Sprintf(`DELETE FROM records WHERE seq = %d`, b+2)},
				fmt.Sprintf("record %d (run %s, %s): record %d is missing: deleted", b+3, ids[1], m.typ(b+3), b+2)
		}},
		{"delete a run", func(ids []string, m journalMap) ([]string, string) {
			return []string{`DELETE FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = '` + ids[1] + `')`, `DELETE FROM runs WHERE id = '` + ids[1] + `'`},
				fmt.Sprintf("record %d (run %s, run.started): records %d..%d are missing: deleted", m.first[ids[2]], ids[2], m.first[ids[1]], m.last[ids[1]])
		}},
		{"delete the last run", func(ids []string, m journalMap) ([]string, string) {
			return []string{`DELETE FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = '` + ids[2] + `')`, `DELETE FROM runs WHERE id = '` + ids[2] + `'`},
				fmt.Sprintf("record %d: the journal's head is record %d (hash %s…) but the last record is %d: records at the end were removed", m.head, m.head, m.recs[m.head-1].Hash[:12], m.last[ids[1]])
		}},
		{"swap two records", func(ids []string, m journalMap) ([]string, string) {
			b := m.first[ids[1]]
			return []string{
					fmt.Sprintf(`UPDATE records SET seq = -1 WHERE seq = %d`, b+1),
					fmt.Sprintf(`UPDATE records SET seq = %d WHERE seq = %d`, b+1, b+2),
					fmt.Sprintf(`UPDATE records SET seq = %d WHERE seq = -1`, b+2)},
				fmt.Sprintf("record %d (run %s, %s): its columns differ from its content: it was changed", b+1, ids[1], m.typ(b+2))
		}},
		{"insert a forged record", func(ids []string, m journalMap) ([]string, string) {
			seq := m.first[ids[1]] + 4
			return []string{fmt.Sprintf(`DELETE FROM records WHERE seq = %d`, seq), fmt.Sprintf(`INSERT INTO records (seq, rid, body, hash) VALUES (%d, (SELECT rid FROM run_ids WHERE id = '`, seq) + ids[1] +
					fmt.Sprintf(`'), '{"seq":%d,"run_id":"`, seq) + ids[1] +
					`","time":"2026-11-21T00:00:00Z","type":"step.finished","prev_hash":"","run_prev":"","data":{"step":"draft","status":"succeeded"}}', X'')`,
					fmt.Sprintf(`REHASH %d`, seq)},
				fmt.Sprintf("record %d (run %s, step.finished): its prev_hash does not match record %d: records were reordered, inserted or removed", seq, ids[1], seq-1)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home, ids := journalOf3Runs(t)
			stmts, want := c.tamper(ids, mapJournal(t, home))
			tamper(t, home, stmts...)
			r := homeRun(t, t.TempDir(), home, nil, "audit", "verify")
			if r.code != exitFailed || !strings.Contains(r.stderr, want) {
				t.Fatalf("exit %d, want 1 and %q in:\n%s%s", r.code, want, r.stdout, r.stderr)
			}
		})
	}
}

// TestExportTamperDetected: an export checked on its own, by steward and
// by the script of docs/audit.md, finds each change.
func TestExportTamperDetected(t *testing.T) {
	home, ids := journalOf3Runs(t)
	m := mapJournal(t, home)
	exp := homeRun(t, t.TempDir(), home, nil, "audit", "export")
	wantCode(t, exp, exitOK, "export")
	lines := strings.SplitAfter(exp.stdout, "\n")
	lines = lines[:len(lines)-1] // after the last newline
	n := int(m.head)             // lines[n] is the export.end line
	if len(lines) != n+1 {
		t.Fatalf("want %d records and the export.end line, got %d lines", n, len(lines))
	}
	verified := fmt.Sprintf("verified %d records in 3 runs", n)
	// A record with a step member, the fifth or the first after it.
	stepLine := 4
	for stepLine < n && !strings.Contains(lines[stepLine], `"step":"`) {
		stepLine++
	}
	script := auditScript(t)
	cases := []struct {
		name   string
		lines  func() []string
		want   string // steward's message
		python string // the docs script's
	}{
		{"intact", func() []string { return lines }, verified, verified},
		{"edit a byte", func() []string {
			l := append([]string(nil), lines...)
			l[stepLine] = strings.Replace(l[stepLine], `"step":"`, `"step":"x`, 1)
			return l
		}, fmt.Sprintf("line %d: record %d", stepLine+1, stepLine+1), "its content does not match its hash"},
		{"delete a line", func() []string { return append(append([]string(nil), lines[:6]...), lines[7:]...) },
			"tampering found after 6 good records: line 7: record 8", "line 7: seq 8, expected 7"},
		{"swap two lines", func() []string {
			l := append([]string(nil), lines...)
			l[2], l[3] = l[3], l[2]
			return l
		}, fmt.Sprintf("line 4: record 3 (run RUN0, %s): record seq 3 comes after seq 4: reordered", m.typ(3)), "line 3: seq 4, expected 3"},
		{"insert a forged line", func() []string {
			l := append([]string(nil), lines[:5]...)
			return append(append(l, lines[3]), lines[5:]...)
		}, "line 6: record 4", "line 6: seq 4 after seq 5: records reordered or duplicated"},
		{"cut at a line", func() []string { return lines[:15] },
			"the export ends without its export.end line: it was truncated after record 15", "no export.end line: the export was cut after record 15"},
		{"cut inside a line", func() []string {
			l := append([]string(nil), lines[:15]...)
			return append(l, lines[15][:40])
		}, "line 16", "line"},
		{"last records and their count removed", func() []string { return append(append([]string(nil), lines[:n-1]...), lines[n]) },
			"export.end", "export.end does not match the records"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "journal.jsonl")
			if err := os.WriteFile(file, []byte(strings.Join(c.lines(), "")), 0o600); err != nil {
				t.Fatal(err)
			}
			r := homeRun(t, t.TempDir(), t.TempDir(), nil, "audit", "verify", "--file", file)
			ok := c.name == "intact"
			want := strings.NewReplacer("RUN0", ids[0]).Replace(c.want)
			if (r.code == exitOK) != ok || !strings.Contains(r.stdout+r.stderr, want) {
				t.Errorf("steward: exit %d, want %q in:\n%s%s", r.code, want, r.stdout, r.stderr)
			}
			out, err := pythonRun(script, file)
			if (err == nil) != ok || !strings.Contains(out, c.python) {
				t.Errorf("docs/audit.md script: %v, want %q in:\n%s", err, c.python, out)
			}
		})
	}
}

// TestRunExportVerifies: an export of one run checks on its own.
func TestRunExportVerifies(t *testing.T) {
	home, ids := journalOf3Runs(t)
	want := fmt.Sprintf("verified %d records in 1 run", mapJournal(t, home).count(ids[1]))
	exp := homeRun(t, t.TempDir(), home, nil, "audit", "export", "--run", ids[1])
	wantCode(t, exp, exitOK, "export --run")
	file := filepath.Join(t.TempDir(), "run.jsonl")
	if err := os.WriteFile(file, []byte(exp.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	r := homeRun(t, t.TempDir(), t.TempDir(), nil, "audit", "verify", "--file", file)
	wantCode(t, r, exitOK, "verify --file of a run export")
	if !strings.Contains(r.stdout, want) {
		t.Fatalf("verify --file:\n%s", r.stdout)
	}
	r = homeRun(t, t.TempDir(), home, nil, "audit", "verify", "--run", ids[1])
	wantCode(t, r, exitOK, "verify --run")
	if !strings.Contains(r.stdout, want) {
		t.Fatalf("verify --run:\n%s", r.stdout)
	}
}
