package main

import (
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
)

// rewriteStore does what someone with write access to the whole store
// can: change record seq (old becomes new in its body), then re-seal it
// and every record after it, and move the head, so that the chain is
// consistent again.
func rewriteStore(t *testing.T, home string, seq int64, old, new string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(home, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT body FROM records ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var recs []journal.Record
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			t.Fatal(err)
		}
		r, err := journal.ParseBody(body)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	prev, runPrev := "", map[string]string{}
	for _, r := range recs {
		if r.Seq >= seq {
			data := r.Data
			if r.Seq == seq {
				data = json.RawMessage(strings.Replace(string(data), old, new, 1))
				if string(data) == string(r.Data) {
					t.Fatalf("record %d has no %q", seq, old)
				}
			}
			r = journal.Seal(r.Seq, r.RunID, prev, runPrev[r.RunID], journal.Entry{Type: r.Type, Time: r.Time, Data: data})
			sum, _ := hex.DecodeString(r.Hash)
			tamper(t, home, fmt.Sprintf(`UPDATE records SET body = X'%x', hash = X'%x' WHERE seq = %d`, r.Body, sum, r.Seq))
		} else {
			r.Hash = journal.HashBody(r.Body)
		}
		prev, runPrev[r.RunID] = r.Hash, r.Hash
	}
	tamper(t, home, fmt.Sprintf(`UPDATE head SET hash = '%s'`, prev))
}

// removeLastRun deletes the last run of the store, its records and its
// summary, and moves the head back to the record before it.
func removeLastRun(t *testing.T, home, id string) {
	t.Helper()
	tamper(t, home, `DELETE FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = '`+id+`')`,
		`DELETE FROM runs WHERE id = '`+id+`'`,
		`UPDATE head SET seq = (SELECT max(seq) FROM records), hash = (SELECT lower(hex(hash)) FROM records ORDER BY seq DESC LIMIT 1)`)
}

// forgeExportEnd recomputes an export's export.end line for the record
// lines above it, as someone who removed records would.
func forgeExportEnd(t *testing.T, lines []string) []string {
	t.Helper()
	end := strings.TrimSuffix(lines[len(lines)-1], "\n")
	i := strings.LastIndex(end, `,"hash":"`)
	var tr map[string]any
	if err := json.Unmarshal([]byte(end[:i]+"}"), &tr); err != nil {
		t.Fatal(err)
	}
	recs := lines[:len(lines)-1]
	var first, last journal.Record
	for j, l := range recs {
		r, err := journal.ParseLine([]byte(strings.TrimSuffix(l, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		if j == 0 {
			first = r
		}
		last = r
	}
	body := fmt.Sprintf(`{"type":"export.end","time":%q,"run_id":%q,"since":%q,"first_seq":%d,"last_seq":%d,"records":%d,"last_hash":%q,"head_seq":%d,"head_hash":%q}`,
		tr["time"], tr["run_id"], tr["since"], first.Seq, last.Seq, len(recs), last.Hash, last.Seq, last.Hash)
	return append(append([]string(nil), recs...), body[:len(body)-1]+`,"hash":"`+journal.HashBody([]byte(body))+"\"}\n")
}

func writeLines(t *testing.T, lines []string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "export.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func exportLines(t *testing.T, home string, args ...string) []string {
	t.Helper()
	exp := homeRun(t, t.TempDir(), home, nil, append([]string{"audit", "export"}, args...)...)
	wantCode(t, exp, exitOK, "export")
	lines := strings.SplitAfter(exp.stdout, "\n")
	return lines[:len(lines)-1]
}

// lastRecord is what verify prints of the last record: SEQ:HASH.
func lastRecord(t *testing.T, home string) string {
	t.Helper()
	r := homeRun(t, t.TempDir(), home, nil, "audit", "verify")
	wantCode(t, r, exitOK, "verify")
	_, head, ok := strings.Cut(r.stdout, "last record: ")
	if !ok {
		t.Fatalf("verify does not print the last record:\n%s", r.stdout)
	}
	return strings.TrimSpace(head)
}

// wantVerify runs steward (in a home of its own unless home is set) and
// checks its exit code and that want is in its output.
func wantVerify(t *testing.T, home string, code int, want string, args ...string) {
	t.Helper()
	if home == "" {
		home = t.TempDir()
	}
	r := homeRun(t, t.TempDir(), home, nil, args...)
	if r.code != code || !strings.Contains(r.stdout+r.stderr, want) {
		t.Fatalf("%v: exit %d, want %d and %q in:\n%s%s", args, r.code, code, want, r.stdout, r.stderr)
	}
}

// TestAuditCheckpointRewrittenChain: someone rewrites the journal after
// a checkpoint, changing the first record of Bruno's run and re-sealing
// every record after it.
// The chain holds, so verify passes, on the store and on an export; the
// checkpoint, checked with nothing but the public key, names the change.
func TestAuditCheckpointRewrittenChain(t *testing.T) {
	home, ids := journalOf3Runs(t)
	m := mapJournal(t, home)
	r := homeRun(t, t.TempDir(), home, nil, "audit", "checkpoint")
	wantCode(t, r, exitOK, "checkpoint")
	if !strings.Contains(r.stderr, "made the signing key "+filepath.Join(home, "checkpoint.key")) || !strings.Contains(r.stderr, fmt.Sprintf("signed record %d (hash ", m.head)) {
		t.Fatalf("checkpoint:\n%s", r.stderr)
	}
	if fi, err := os.Stat(filepath.Join(home, "checkpoint.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	auditor := t.TempDir()
	cp := filepath.Join(auditor, "cp.json")
	writeFile(t, cp, r.stdout)
	if !strings.HasPrefix(r.stdout, fmt.Sprintf(`{"type":"checkpoint","seq":%d,"hash":"`, m.head)) {
		t.Fatalf("checkpoint: %s", r.stdout)
	}
	pubOut := homeRun(t, t.TempDir(), home, nil, "audit", "checkpoint", "--public-key")
	wantCode(t, pubOut, exitOK, "checkpoint --public-key")
	pub := filepath.Join(auditor, "steward.pub")
	writeFile(t, pub, pubOut.stdout)
	head := lastRecord(t, home)
	// The journal goes on after the checkpoint.
	wantCode(t, homeRun(t, t.TempDir(), home, nil, "run", "decline-reply", "--input", "decline_code=expired_card", "--input", "customer=Dora"), exitOK, "run")
	wantVerify(t, home, exitOK, fmt.Sprintf("record %d matches checkpoint %s", m.head, cp), "audit", "verify", "--checkpoint", cp)
	all := fmt.Sprintf("verified %d records in 4 runs", mapJournal(t, home).head)

	rewriteStore(t, home, m.first[ids[1]], "Bruno", "Brian")
	// The auditor holds only the public key and the checkpoint.
	if err := os.Remove(filepath.Join(home, "checkpoint.key")); err != nil {
		t.Fatal(err)
	}
	wantVerify(t, home, exitOK, all, "audit", "verify")
	want := fmt.Sprintf("tampering found after 0 good records: record %d (run %s, run.finished): its hash is ", m.head, ids[2])
	wantVerify(t, home, exitFailed, want, "audit", "verify", "--checkpoint", cp, "--public-key", pub)
	wantVerify(t, home, exitFailed, "as checkpoint "+cp+" says: it, or a record before it, was changed, removed or inserted",
		"audit", "verify", "--checkpoint", cp, "--public-key", pub)
	_, headHash, _ := strings.Cut(head, ":")
	wantVerify(t, home, exitFailed, "not "+headHash[:12]+"… as --head says", "audit", "verify", "--head", head)
	wantVerify(t, home, exitInvalid, "--checkpoint needs the public key it was signed with", "audit", "verify", "--checkpoint", cp)

	file := writeLines(t, exportLines(t, home))
	wantVerify(t, "", exitOK, all, "audit", "verify", "--file", file)
	wantVerify(t, "", exitFailed, fmt.Sprintf("tampering found after 0 good records: line %d: record %d", m.head, m.head), "audit", "verify", "--file", file, "--checkpoint", cp, "--public-key", pub)
}

// TestAuditCheckpointRemovedRecords: the last run removed from the store,
// its head moved back, passes verify; a checkpoint, --head or --last-seq
// kept from before names the records removed. The same of an export,
// whole or --since, with its export.end line recomputed.
func TestAuditCheckpointRemovedRecords(t *testing.T) {
	home, ids := journalOf3Runs(t)
	m := mapJournal(t, home)
	r := homeRun(t, t.TempDir(), home, nil, "audit", "checkpoint")
	wantCode(t, r, exitOK, "checkpoint")
	cp := filepath.Join(t.TempDir(), "cp.json")
	writeFile(t, cp, r.stdout)
	head := lastRecord(t, home)
	whole := exportLines(t, home) // whole[i] is record i+1; whole[m.head] the export.end line
	// Bruno's run is records b..l, Carla's l+1..m.head.
	b, l := m.first[ids[1]], m.last[ids[1]]
	since := exportLines(t, home, "--since", jsonField(t, whole[b-1], "time")) // records b..m.head
	since3 := exportLines(t, home, "--since", jsonField(t, whole[2], "time"))  // records 3..m.head

	removeLastRun(t, home, ids[2])
	wantVerify(t, home, exitOK, fmt.Sprintf("verified %d records in 2 runs", l), "audit", "verify")
	removed := fmt.Sprintf("tampering found after %d good records: the journal ends at record %d, but %%s says it holds record %d: records at the end were removed", l, l, m.head)
	lastSeq := fmt.Sprint(m.head)
	wantVerify(t, home, exitFailed, fmt.Sprintf(removed, "checkpoint "+cp), "audit", "verify", "--checkpoint", cp)
	wantVerify(t, home, exitFailed, fmt.Sprintf(removed, "--head"), "audit", "verify", "--head", head)
	wantVerify(t, home, exitFailed, fmt.Sprintf(removed, "--last-seq"), "audit", "verify", "--last-seq", lastSeq)
	wantVerify(t, home, exitOK, fmt.Sprintf("record %d is there, as --last-seq says", l), "audit", "verify", "--last-seq", fmt.Sprint(l))

	for _, c := range []struct {
		name  string
		lines []string
		good  int64
	}{
		{"whole", forgeExportEnd(t, append(whole[:l:l], whole[m.head])), l},
		{"since", forgeExportEnd(t, append(since[:l-b+1:l-b+1], since[m.head-b+1])), l - b + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := writeLines(t, c.lines)
			wantVerify(t, "", exitOK, fmt.Sprintf("last record: %d:", l), "audit", "verify", "--file", file)
			want := fmt.Sprintf("tampering found after %d good records: the export ends at record %d, but %%s says the journal holds record %d: records at the end were removed, or the export was made before it", c.good, l, m.head)
			wantVerify(t, home, exitFailed, fmt.Sprintf(want, "checkpoint "+cp), "audit", "verify", "--file", file, "--checkpoint", cp)
			wantVerify(t, "", exitFailed, fmt.Sprintf(want, "--head"), "audit", "verify", "--file", file, "--head", head)
			wantVerify(t, "", exitFailed, fmt.Sprintf(want, "--last-seq"), "audit", "verify", "--file", file, "--last-seq", lastSeq)
		})
	}
	// A run removed inside a --since export, or a whole export relabelled
	// as one, is a gap: no pin needed.
	gap := fmt.Sprintf("record %d (run %s, run.started): records %d..%d are missing: deleted", l+1, ids[2], b, l)
	file := writeLines(t, forgeExportEnd(t, append(append([]string(nil), since3[:b-3]...), since3[l-2:]...)))
	wantVerify(t, "", exitFailed, fmt.Sprintf("tampering found after %d good records: line %d: %s", b-3, b-2, gap),
		"audit", "verify", "--file", file)
	relabelled := forgeExportEnd(t, append(append([]string(nil), whole[:b-1]...), whole[l:]...))
	end := len(relabelled) - 1
	relabelled[end] = strings.Replace(relabelled[end], `"since":""`, `"since":"`+jsonField(t, whole[0], "time")+`"`, 1)
	file = writeLines(t, forgeExportEnd(t, relabelled))
	wantVerify(t, "", exitFailed, fmt.Sprintf("tampering found after %d good records: line %d: %s", b-1, b, gap),
		"audit", "verify", "--file", file)
}

// retrailCheckpoint is checkpoint, of record head, changed to say it is
// of the record before.
func retrailCheckpoint(t *testing.T, checkpoint string, head int64) string {
	t.Helper()
	old := fmt.Sprintf(`"seq":%d,`, head)
	if !strings.Contains(checkpoint, old) {
		t.Fatalf("checkpoint has no %s: %s", old, checkpoint)
	}
	return strings.Replace(checkpoint, old, fmt.Sprintf(`"seq":%d,`, head-1), 1)
}

// jsonField is a string member of a JSON line.
func jsonField(t *testing.T, line, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	s, ok := m[name].(string)
	if !ok {
		t.Fatalf("no %s in %s", name, line)
	}
	return s
}

// TestAuditCheckpointRefused: a checkpoint changed, or signed by another
// installation, does not verify (exit 1); a checkpoint that is not one,
// or flags that do not fit, are bad usage (exit 2); nothing is signed of
// a journal that does not verify, or is empty.
func TestAuditCheckpointRefused(t *testing.T) {
	home, ids := journalOf3Runs(t)
	m := mapJournal(t, home)
	r := homeRun(t, t.TempDir(), home, nil, "audit", "checkpoint")
	wantCode(t, r, exitOK, "checkpoint")
	dir := t.TempDir()
	cp := filepath.Join(dir, "cp.json")
	writeFile(t, cp, r.stdout)
	edited := filepath.Join(dir, "edited.json")
	writeFile(t, edited, retrailCheckpoint(t, r.stdout, m.head))
	wantVerify(t, home, exitFailed, "tampering found: checkpoint "+edited+": its signature does not verify with the public key: the checkpoint was changed, or signed with another key",
		"audit", "verify", "--checkpoint", cp, "--checkpoint", edited)

	other, _ := journalOf3Runs(t)
	r = homeRun(t, t.TempDir(), other, nil, "audit", "checkpoint")
	wantCode(t, r, exitOK, "checkpoint of another journal")
	foreign := filepath.Join(dir, "foreign.json")
	writeFile(t, foreign, r.stdout)
	wantVerify(t, home, exitFailed, "tampering found: checkpoint "+foreign+": its signature does not verify with the public key: the checkpoint was changed, or signed with another key (it names key SHA256:",
		"audit", "verify", "--checkpoint", foreign)

	notCp := filepath.Join(dir, "not.json")
	writeFile(t, notCp, "hello\n")
	wantVerify(t, home, exitInvalid, "--checkpoint "+notCp+": not a checkpoint", "audit", "verify", "--checkpoint", notCp)
	wantVerify(t, home, exitInvalid, "--run checks one run's chain", "audit", "verify", "--run", "x", "--checkpoint", cp)
	wantVerify(t, home, exitInvalid, "--public-key checks checkpoints", "audit", "verify", "--public-key", cp)
	wantVerify(t, home, exitInvalid, "--public-key "+cp+": not a PEM public key", "audit", "verify", "--checkpoint", cp, "--public-key", cp)
	wantVerify(t, home, exitInvalid, `--head: "21" is not SEQ:HASH`, "audit", "verify", "--head", "21")
	wantVerify(t, home, exitInvalid, "--last-seq must be 1 or more, got 0", "audit", "verify", "--last-seq", "0")

	wantVerify(t, "", exitFailed, "nothing signed: the journal has no records", "audit", "checkpoint")
	b := m.first[ids[1]]
	tamper(t, home, fmt.Sprintf(`UPDATE records SET body = replace(body, 'Bruno', 'Brian') WHERE seq = %d`, b))
	wantVerify(t, home, exitFailed, fmt.Sprintf("nothing signed: tampering found after %d good records: record %d", b-1, b), "audit", "checkpoint")
}

// TestAuditCheckpointKeyConfig: audit.checkpoint_key of steward.yaml
// says where the key is; a key others may read is refused.
func TestAuditCheckpointKeyConfig(t *testing.T) {
	home, _ := journalOf3Runs(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "audit:\n  checkpoint_key: keys/cp.key\n")
	key := filepath.Join(dir, "keys", "cp.key")
	r := homeRun(t, dir, home, nil, "audit", "checkpoint")
	wantCode(t, r, exitOK, "checkpoint")
	if !strings.Contains(r.stderr, "made the signing key keys/cp.key (SHA256:") {
		t.Fatalf("checkpoint:\n%s", r.stderr)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(home, "checkpoint.key")); !os.IsNotExist(err) {
		t.Fatalf("a key in the home too: %v", err)
	}
	cp := filepath.Join(dir, "cp.json")
	writeFile(t, cp, r.stdout)
	r = homeRun(t, dir, home, nil, "audit", "verify", "--checkpoint", cp)
	wantCode(t, r, exitOK, "verify with the configured key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	r = homeRun(t, dir, home, nil, "audit", "checkpoint")
	wantCode(t, r, exitFailed, "checkpoint with a key others may read")
	if !strings.Contains(r.stderr, "may be read by others (mode 0644): chmod 600 it") || r.stdout != "" {
		t.Fatalf("checkpoint:\n%s%s", r.stdout, r.stderr)
	}
}
