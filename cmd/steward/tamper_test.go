package main

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
func TestTamperDetected(t *testing.T) {
	cases := []struct {
		name  string
		stmts func(ids []string) []string
		want  string
	}{
		{"edit a field", func([]string) []string {
			return []string{`UPDATE records SET body = replace(body, 'Bruno', 'Brian') WHERE seq = 8`}
		}, "record 8 (run RUN1, run.started): its content does not match its hash: it was changed"},
		{"edit a field and its hash", func([]string) []string {
			return []string{`UPDATE records SET body = replace(body, 'Bruno', 'Brian') WHERE seq = 8`,
				`REHASH 8`}
		}, "record 9 (run RUN1, step.started): its prev_hash does not match record 8: records were reordered, inserted or removed"},
		{"delete a record", func([]string) []string {
			return []string{`DELETE FROM records WHERE seq = 10`}
		}, "record 11 (run RUN1, step.skipped): record 10 is missing: deleted"},
		{"delete a run", func(ids []string) []string {
			return []string{`DELETE FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = '` + ids[1] + `')`, `DELETE FROM runs WHERE id = '` + ids[1] + `'`}
		}, "record 15 (run RUN2, run.started): records 8..14 are missing: deleted"},
		{"delete the last run", func(ids []string) []string {
			return []string{`DELETE FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = '` + ids[2] + `')`, `DELETE FROM runs WHERE id = '` + ids[2] + `'`}
		}, "record 21: the journal's head is record 21"},
		{"swap two records", func([]string) []string {
			return []string{
				`UPDATE records SET seq = -1 WHERE seq = 9`,
				`UPDATE records SET seq = 9 WHERE seq = 10`,
				`UPDATE records SET seq = 10 WHERE seq = -1`}
		}, "record 9 (run RUN1, step.finished): its columns differ from its content: it was changed"},
		{"insert a forged record", func(ids []string) []string {
			return []string{`DELETE FROM records WHERE seq = 12`, `INSERT INTO records (seq, rid, body, hash) VALUES (12, (SELECT rid FROM run_ids WHERE id = '` + ids[1] +
				`'), '{"seq":12,"run_id":"` + ids[1] +
				`","time":"2026-11-21T00:00:00Z","type":"step.finished","prev_hash":"","run_prev":"","data":{"step":"draft","status":"succeeded"}}', X'')`,
				`REHASH 12`}
		}, "record 12 (run RUN1, step.finished): its prev_hash does not match record 11: records were reordered, inserted or removed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home, ids := journalOf3Runs(t)
			tamper(t, home, c.stmts(ids)...)
			r := homeRun(t, t.TempDir(), home, nil, "audit", "verify")
			want := strings.NewReplacer("RUN0", ids[0], "RUN1", ids[1], "RUN2", ids[2]).Replace(c.want)
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
	exp := homeRun(t, t.TempDir(), home, nil, "audit", "export")
	wantCode(t, exp, exitOK, "export")
	lines := strings.SplitAfter(exp.stdout, "\n")
	lines = lines[:len(lines)-1] // after the last newline
	if len(lines) != 22 {
		t.Fatalf("want 21 records and the export.end line, got %d lines", len(lines))
	}
	script := auditScript(t)
	cases := []struct {
		name   string
		lines  func() []string
		want   string // steward's message
		python string // the docs script's
	}{
		{"intact", func() []string { return lines }, "verified 21 records in 3 runs", "verified 21 records in 3 runs"},
		{"edit a byte", func() []string {
			l := append([]string(nil), lines...)
			l[4] = strings.Replace(l[4], `"step":"`, `"step":"x`, 1)
			return l
		}, "line 5: record 5", "its content does not match its hash"},
		{"delete a line", func() []string { return append(append([]string(nil), lines[:6]...), lines[7:]...) },
			"line 7: record 8", "line 7: seq 8, expected 7"},
		{"swap two lines", func() []string {
			l := append([]string(nil), lines...)
			l[2], l[3] = l[3], l[2]
			return l
		}, "line 4: record 3 (run RUN0, step.finished): record seq 3 comes after seq 4: reordered", "line 3: seq 4, expected 3"},
		{"insert a forged line", func() []string {
			l := append([]string(nil), lines[:5]...)
			return append(append(l, lines[3]), lines[5:]...)
		}, "line 6: record 4", "line 6: seq 4, expected 6"},
		{"cut at a line", func() []string { return lines[:15] },
			"the export ends without its export.end line: it was truncated after record 15", "no export.end line: the export was cut after record 15"},
		{"cut inside a line", func() []string {
			l := append([]string(nil), lines[:15]...)
			return append(l, lines[15][:40])
		}, "line 16", "line"},
		{"last records and their count removed", func() []string { return append(append([]string(nil), lines[:20]...), lines[21]) },
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
	exp := homeRun(t, t.TempDir(), home, nil, "audit", "export", "--run", ids[1])
	wantCode(t, exp, exitOK, "export --run")
	file := filepath.Join(t.TempDir(), "run.jsonl")
	if err := os.WriteFile(file, []byte(exp.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	r := homeRun(t, t.TempDir(), t.TempDir(), nil, "audit", "verify", "--file", file)
	wantCode(t, r, exitOK, "verify --file of a run export")
	if !strings.Contains(r.stdout, "verified 7 records in 1 run") {
		t.Fatalf("verify --file:\n%s", r.stdout)
	}
	r = homeRun(t, t.TempDir(), home, nil, "audit", "verify", "--run", ids[1])
	wantCode(t, r, exitOK, "verify --run")
	if !strings.Contains(r.stdout, "verified 7 records in 1 run") {
		t.Fatalf("verify --run:\n%s", r.stdout)
	}
}
