package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// CheckBatch checks a batch before a store writes it, with the messages
// every store gives (the conformance suite holds them to it), and
// returns its entries as they are sealed: an entry without a time gets
// now, data spread over lines is compacted, no data is {}.
func CheckBatch(b Batch, now func() time.Time) ([]Entry, error) {
	if b.RunID == "" {
		return nil, errors.New("journal: append: the batch has no run id")
	}
	if b.Once != "" && len(b.Entries) == 0 {
		return nil, fmt.Errorf("journal: append: the batch of run %s claims %q but has no entries", b.RunID, b.Once)
	}
	if b.Key != "" && len(b.Entries) == 0 {
		return nil, fmt.Errorf("journal: append: the batch of run %s claims key %q but has no entries", b.RunID, b.Key)
	}
	if b.Run != nil && b.Run.ID != b.RunID {
		return nil, fmt.Errorf("journal: append: the batch is for run %s but its summary is for run %s", b.RunID, b.Run.ID)
	}
	if err := checkText(b); err != nil {
		return nil, err
	}
	entries := make([]Entry, len(b.Entries))
	for i, e := range b.Entries {
		var err error
		if e.Data, err = checkData(e.Data); err != nil {
			return nil, fmt.Errorf("journal: append: %s entry of run %s: %w", e.Type, b.RunID, err)
		}
		if e.Type == "" {
			return nil, fmt.Errorf("journal: append: entry %d of run %s has no type", i, b.RunID)
		}
		if e.Time.IsZero() {
			e.Time = now()
		}
		entries[i] = e
	}
	return entries, nil
}

// checkText refuses a batch whose text a store cannot keep as it is: not
// UTF-8, or holding NUL. The run's id and summary, keys and source names
// are text (records are bytes, kept as they are); the summary must read
// as its records do, where JSON would have replaced invalid UTF-8, so
// Verify would take it for an edit.
func checkText(b Batch) error {
	fields := []struct{ name, value string }{{"run id", b.RunID}, {"once key", b.Once}, {"key", b.Key}}
	if r := b.Run; r != nil {
		fields = append(fields, []struct{ name, value string }{{"runbook", r.Runbook}, {"version", r.Version}, {"actor", r.Actor},
			{"status", r.Status}, {"parent", r.Parent}, {"host", r.Host}}...)
	}
	if src := b.Source; src != nil {
		fields = append(fields, []struct{ name, value string }{{"source hash", src.SHA256}, {"source name", src.Name}, {"source file", src.File}}...)
	}
	for _, f := range fields {
		if !utf8.ValidString(f.value) || strings.ContainsRune(f.value, 0) {
			return fmt.Errorf("journal: append: the batch of run %q: its %s %q is not UTF-8 text without NUL", b.RunID, f.name, f.value)
		}
	}
	return nil
}

// checkData returns an entry's data as it is sealed: {} when empty, a
// JSON object on one line.
func checkData(d json.RawMessage) (json.RawMessage, error) {
	if len(d) == 0 {
		return d, nil
	}
	if !json.Valid(d) {
		return nil, errors.New("its data is not valid JSON")
	}
	if d[0] != '{' || d[len(d)-1] != '}' || bytes.ContainsAny(d, "\r\n") {
		var buf bytes.Buffer
		if err := json.Compact(&buf, d); err != nil {
			return nil, err
		}
		d = buf.Bytes()
		if d[0] != '{' {
			return nil, errors.New("its data is not a JSON object")
		}
	}
	return d, nil
}

// CheckRunID refuses a run id that cannot name a run: "", hidden (a
// leading dot), or holding a path separator or NUL. Every store's lease
// methods refuse them with this error.
func CheckRunID(runID string) error {
	if runID == "" || strings.HasPrefix(runID, ".") || strings.ContainsAny(runID, "/\\\x00") {
		return fmt.Errorf("journal: %q is not a valid run id", runID)
	}
	return nil
}
