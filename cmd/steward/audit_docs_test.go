package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

// bothVerify checks an export with steward audit verify --file and with
// the script of docs/audit.md: both verify it, or both refuse it, each
// saying what is wanted of it. pins are SEQ:HASH.
func bothVerify(t *testing.T, script, file string, ok bool, steward, python string, pins ...string) {
	t.Helper()
	args := []string{"audit", "verify", "--file", file}
	for _, p := range pins {
		args = append(args, "--head", p)
	}
	r := homeRun(t, t.TempDir(), t.TempDir(), nil, args...)
	if (r.code == exitOK) != ok || !strings.Contains(r.stdout+r.stderr, steward) {
		t.Errorf("steward: exit %d, want ok %v and %q in:\n%s%s", r.code, ok, steward, r.stdout, r.stderr)
	}
	out, err := pythonRun(script, append([]string{file}, pins...)...)
	if (err == nil) != ok || !strings.Contains(out, python) {
		t.Errorf("docs/audit.md script: %v, want ok %v and %q in:\n%s", err, ok, python, out)
	}
}

// TestDocsAuditScriptExports runs the reference verifier of docs/audit.md
// and steward on real exports of every kind (whole, --run, --since, both,
// empty), intact and tampered with: a line cut in the middle, first_seq
// not matching, records removed at the start or the end with export.end
// recomputed (found against a record kept), a run removed inside a
// --since export, an older record put before it.
func TestDocsAuditScriptExports(t *testing.T) {
	home, ids := journalOf3Runs(t)
	m := mapJournal(t, home)
	// Ana's run is records 1..b-1, Bruno's b..l, Carla's l+1..h.
	b, l, h := m.first[ids[1]], m.last[ids[1]], m.head
	script := auditScript(t)
	whole := exportLines(t, home) // whole[i] is record i+1; whole[h] the export.end line
	at := func(i int64) string { return jsonField(t, whole[i], "time") }
	kept := func(i int64) string { // SEQ:HASH of whole[i]
		r, err := journal.ParseLine([]byte(strings.TrimSuffix(whole[i], "\n")))
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d:%s", r.Seq, r.Hash)
	}
	since := exportLines(t, home, "--since", at(b-1)) // records b..h
	since3 := exportLines(t, home, "--since", at(2))  // records 3..h
	last := kept(h - 1)
	nSince := len(since) - 1

	t.Run("intact", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			lines []string
			want  string
		}{
			{"whole", whole, fmt.Sprintf("verified %d records in 3 runs", h)},
			{"one run", exportLines(t, home, "--run", ids[1]), fmt.Sprintf("verified %d records in 1 run", m.count(ids[1]))},
			{"since", since, fmt.Sprintf("verified %d records in 2 runs", h-b+1)},
			{"one run since", exportLines(t, home, "--run", ids[1], "--since", at(b+1)), fmt.Sprintf("verified %d records in 1 run", l-b-1)},
			{"nothing since", exportLines(t, home, "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), "verified 0 records in 0 runs"},
			{"empty journal", exportLines(t, t.TempDir()), "verified 0 records in 0 runs"},
		} {
			t.Run(c.name, func(t *testing.T) {
				bothVerify(t, script, writeLines(t, c.lines), true, c.want, c.want)
			})
		}
		bothVerify(t, script, writeLines(t, whole), true, fmt.Sprintf("record %d matches --head", h), "last record "+last, last)
		bothVerify(t, script, writeLines(t, since), true, fmt.Sprintf("record %d matches --head", b-1), fmt.Sprintf("verified %d records", nSince), kept(b-2))
	})

	cut := func(lines []string, i, n int) []string { // line i cut after n bytes, the end of the file
		return append(append([]string(nil), lines[:i]...), lines[i][:n])
	}
	firstSeqKept := forgeExportEnd(t, since[1:])
	firstSeqKept[len(firstSeqKept)-1] = retrailLine(t, firstSeqKept[len(firstSeqKept)-1], fmt.Sprintf(`"first_seq":%d,`, b+1), fmt.Sprintf(`"first_seq":%d,`, b))
	headChanged := append([]string(nil), whole...)
	headChanged[h] = retrailLine(t, whole[h], fmt.Sprintf(`"head_seq":%d,`, h), fmt.Sprintf(`"head_seq":%d,`, h+1))
	older := forgeExportEnd(t, append([]string{whole[b-2]}, since...))
	for _, c := range []struct {
		name            string
		lines           []string
		pins            []string
		steward, python string
	}{
		{"a record line cut in the middle", cut(whole, 14, 50), nil,
			"line 15: it is not a complete record: the export was truncated", "line 15: it is cut in the middle: the export was truncated"},
		{"the export.end line cut in the middle", cut(whole, int(h), 90), nil,
			fmt.Sprintf("line %d: it is not a complete record: the export was truncated", h+1), fmt.Sprintf("line %d: it is cut in the middle: the export was truncated", h+1)},
		{"since: the first record removed, first_seq kept", firstSeqKept, nil,
			fmt.Sprintf("the export.end line says the first record is %d but it is %d: records at the start were removed", b, b+1), "export.end does not match the records"},
		{"since: the first record removed, export.end recomputed, kept record before it", forgeExportEnd(t, since[1:]), []string{kept(b - 2)},
			fmt.Sprintf("the export does not hold record %d of --head, nor the record after it", b-1), fmt.Sprintf("the export does not hold record %d you kept", b-1)},
		{"since: the last run removed, export.end recomputed, kept last record", forgeExportEnd(t, append(since[:l-b+1:l-b+1], since[nSince])), []string{last},
			fmt.Sprintf("the export ends at record %d, but --head says the journal holds record %d", l, h), fmt.Sprintf("the export ends at record %d, before record %d you kept", l, h)},
		{"since: a run removed inside it", forgeExportEnd(t, append(append([]string(nil), since3[:b-3]...), since3[l-2:]...)), nil,
			fmt.Sprintf("records %d..%d are missing: deleted", b, l), fmt.Sprintf("line %d: seq %d, expected %d: records missing", b-2, l+1, b)},
		{"since: an older record put before it", older, nil,
			fmt.Sprintf("line 1: record %d", b-1), "line 1: its time is before the export's since"},
		{"the head changed", headChanged, nil,
			fmt.Sprintf("the export.end line says the journal's head is record %d", h+1), "export.end's head is not the last record"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bothVerify(t, script, writeLines(t, c.lines), false, c.steward, c.python, c.pins...)
		})
	}

	// A chain rewritten from Bruno's run on verifies, but not against the
	// last record kept from before.
	rewriteStore(t, home, b, "Bruno", "Brian")
	all := fmt.Sprintf("verified %d records", h)
	bothVerify(t, script, writeLines(t, exportLines(t, home)), true, all, all)
	_, lastHash, _ := strings.Cut(last, ":")
	bothVerify(t, script, writeLines(t, exportLines(t, home)), false, "not "+lastHash[:12]+"… as --head says",
		fmt.Sprintf("line %d: record %d does not have the hash you kept", h, h), last)
	lineOfLast := h - (b + 2) + 1 // in the export of records b+2..h
	bothVerify(t, script, writeLines(t, exportLines(t, home, "--since", at(b+1))), false, fmt.Sprintf("line %d: record %d", lineOfLast, h),
		fmt.Sprintf("line %d: record %d does not have the hash you kept", lineOfLast, h), last)
}

// retrailLine replaces old by new in an export.end line and rehashes it.
func retrailLine(t *testing.T, line, old, new string) string {
	t.Helper()
	line = strings.TrimSuffix(line, "\n")
	i := strings.LastIndex(line, `,"hash":"`)
	body := line[:i] + "}"
	if !strings.Contains(body, old) {
		t.Fatalf("no %s in %s", old, body)
	}
	body = strings.Replace(body, old, new, 1)
	return body[:len(body)-1] + `,"hash":"` + journal.HashBody([]byte(body)) + "\"}\n"
}

// TestExportSinceTimesOutOfOrder: records whose times do not rise with
// seq (a cancel appended by another process with an older time) are
// exported --since as the contiguous range from the first record at or
// after the time, which steward and the docs script both verify.
func TestExportSinceTimesOutOfOrder(t *testing.T) {
	home := t.TempDir()
	s, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC)
	const a, b = "20261121-101500-aaaaaaaa", "20261121-101500-bbbbbbbb"
	for _, e := range []struct {
		run, typ string
		sec      float64
	}{
		{a, "run.started", 1}, {a, "step.started", 3}, {a, "run.cancel_requested", 2.5}, {a, "run.finished", 4}, {b, "run.started", 5},
	} {
		at := t0.Add(time.Duration(e.sec * float64(time.Second)))
		if _, err := s.Append(context.Background(), journal.Batch{RunID: e.run, Entries: []journal.Entry{{Type: e.typ, Time: at, Data: []byte(`{}`)}},
			Run: &journal.Run{ID: e.run, Runbook: "deploy", Status: "running", StartedAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	script := auditScript(t)
	lines := exportLines(t, home, "--since", "2026-11-21T10:15:03Z")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], `{"seq":2,`) || !strings.HasPrefix(lines[1], `{"seq":3,`) {
		t.Fatalf("export --since:\n%s", strings.Join(lines, ""))
	}
	bothVerify(t, script, writeLines(t, lines), true, "verified 4 records in 2 runs", "verified 4 records in 2 runs")
	lines = exportLines(t, home, "--since", "2026-11-21T10:15:03Z", "--run", a)
	bothVerify(t, script, writeLines(t, lines), true, "verified 3 records in 1 run", "verified 3 records in 1 runs")
}

// TestDocsCheckpointOpenSSL runs the OpenSSL commands of docs/audit.md on
// a real checkpoint: its signature verifies with the public key steward
// prints, and no longer once the checkpoint is changed.
func TestDocsCheckpointOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "Without Steward, check a checkpoint's signature with OpenSSL 3")
	_, rest, _ = strings.Cut(rest, "```sh\n")
	commands, _, ok := strings.Cut(rest, "```")
	if !ok || !strings.Contains(commands, "openssl pkeyutl -verify") {
		t.Fatalf("docs/audit.md has no openssl commands:\n%s", commands)
	}
	home, _ := journalOf3Runs(t)
	cp := homeRun(t, t.TempDir(), home, nil, "audit", "checkpoint")
	wantCode(t, cp, exitOK, "checkpoint")
	pub := homeRun(t, t.TempDir(), home, nil, "audit", "checkpoint", "--public-key")
	wantCode(t, pub, exitOK, "checkpoint --public-key")
	run := func(checkpoint string) (string, error) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "checkpoint.json"), checkpoint)
		writeFile(t, filepath.Join(dir, "steward.pub"), pub.stdout)
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", commands)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(cp.stdout); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	if out, err := run(retrailCheckpoint(t, cp.stdout, mapJournal(t, home).head)); err == nil || !strings.Contains(out, "Signature Verification Failure") {
		t.Fatalf("openssl on a changed checkpoint: %v\n%s", err, out)
	}
}
