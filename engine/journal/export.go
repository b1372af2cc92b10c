package journal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// TrailerType is the type of an export's last line.
const TrailerType = "export.end"

// trailer is an export's last line: what the export holds, so that a
// file cut short, or with records removed at its end, is told apart from
// a whole one. Its hash covers it like a record's.
type trailer struct {
	Type     string `json:"type"`
	Time     string `json:"time"`
	RunID    string `json:"run_id"`
	Since    string `json:"since"`
	FirstSeq int64  `json:"first_seq"`
	LastSeq  int64  `json:"last_seq"`
	Records  int    `json:"records"`
	LastHash string `json:"last_hash"`
	// HeadSeq and HeadHash are the journal's last record when the export
	// was made: of an export of the whole journal, or since a time, its
	// last record; of a run's, the store's head after its records.
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
}

// Export writes the records of one run (or of the whole journal when
// runID is ""), one Line per line, then the export.end line, which
// VerifyFile checks against them. n is the number of records written.
//
// With since, the export starts at the first record whose time is since
// or later and holds every record after it, whatever its time: record
// times need not rise with seq (a record appended by another process,
// whose clock is behind), so an export since a time is a contiguous
// range of seq (of the run's records, with runID), not a filter on time.
func Export(ctx context.Context, s Store, w io.Writer, runID string, since time.Time) (n int, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var t trailer
	var line []byte
	started := since.IsZero()
	err = s.Records(ctx, runID, time.Time{}, func(r Record) error {
		t.HeadSeq, t.HeadHash = r.Seq, r.Hash
		// A record whose body does not parse has no time: before the
		// range, it is left out; inside it, VerifyFile names it.
		if !started && (r.Data == nil || r.Time.Before(since)) {
			return nil
		}
		started = true
		if len(r.Body) == 0 || r.Body[len(r.Body)-1] != '}' {
			return fmt.Errorf("journal: export: record %d has no body", r.Seq)
		}
		if n == 0 {
			t.FirstSeq = r.Seq
		}
		t.LastSeq, t.LastHash = r.Seq, r.Hash
		line = append(appendLine(line[:0], r.Body, r.Hash), '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("journal: export: %w", err)
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if n == 0 && runID != "" {
		if _, err := s.Run(ctx, runID); errors.Is(err, ErrRunNotFound) {
			return 0, err
		}
	}
	if runID != "" {
		if t.HeadSeq, t.HeadHash, err = s.Head(ctx); err != nil {
			return n, err
		}
	}
	t.Type, t.RunID, t.Records = TrailerType, runID, n
	t.Time = time.Now().UTC().Format(time.RFC3339Nano)
	if !since.IsZero() {
		t.Since = since.UTC().Format(time.RFC3339Nano)
	}
	if _, err := bw.Write(append(t.line(), '\n')); err != nil {
		return n, fmt.Errorf("journal: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("journal: export: %w", err)
	}
	return n, nil
}

// line is the trailer's line: its body, members in a fixed order, then
// its hash member.
func (t trailer) line() []byte {
	b := []byte(`{"type":`)
	b = appendString(b, t.Type)
	b = append(b, `,"time":`...)
	b = appendString(b, t.Time)
	b = append(b, `,"run_id":`...)
	b = appendString(b, t.RunID)
	b = append(b, `,"since":`...)
	b = appendString(b, t.Since)
	b = append(b, `,"first_seq":`...)
	b = strconv.AppendInt(b, t.FirstSeq, 10)
	b = append(b, `,"last_seq":`...)
	b = strconv.AppendInt(b, t.LastSeq, 10)
	b = append(b, `,"records":`...)
	b = strconv.AppendInt(b, int64(t.Records), 10)
	b = append(b, `,"last_hash":`...)
	b = appendString(b, t.LastHash)
	b = append(b, `,"head_seq":`...)
	b = strconv.AppendInt(b, t.HeadSeq, 10)
	b = append(b, `,"head_hash":`...)
	b = appendString(b, t.HeadHash)
	b = append(b, '}')
	return appendLine(nil, b, HashBody(b))
}

// trailerPrefix starts the body of an export.end line, and no record's.
const trailerPrefix = `{"type":"` + TrailerType + `",`

// parseTrailer reads an export.end body.
func parseTrailer(body []byte) (trailer, error) {
	var t trailer
	if err := json.Unmarshal(body, &t); err != nil {
		return t, formatErr("the export.end line is not valid: " + err.Error())
	}
	if t.Since != "" {
		if _, err := time.Parse(time.RFC3339Nano, t.Since); err != nil {
			return t, formatErr("the export.end line's since " + strconv.Quote(t.Since) + " is not an RFC 3339 time")
		}
	}
	return t, nil
}
