package journal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Problem is the first sign of tampering Verify or VerifyFile finds: the
// record (or export line, or run) and what is wrong with it.
type Problem struct {
	Seq    int64  // the record's seq; 0 when the problem is not one record's
	RunID  string // the record's run, or the run the problem is about
	Type   string // the record's type
	Line   int    // the line of the export file (VerifyFile); 0 otherwise
	Reason string
}

// Error renders the problem, as in
// "record 42 (run 20261121-101502-3fa9c2d1, step.finished): <reason>",
// prefixed with "line N: " for an export file.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	switch {
	case p.Seq > 0:
		b.WriteString("record ")
		b.WriteString(strconv.FormatInt(p.Seq, 10))
		switch {
		case p.RunID != "" && p.Type != "":
			b.WriteString(" (run " + p.RunID + ", " + p.Type + ")")
		case p.RunID != "":
			b.WriteString(" (run " + p.RunID + ")")
		case p.Type != "":
			b.WriteString(" (" + p.Type + ")")
		}
		b.WriteString(": ")
	case p.RunID != "":
		b.WriteString("run " + p.RunID + ": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Report is what Verify and VerifyFile checked.
type Report struct {
	Records int      // records checked
	Runs    int      // distinct runs among them
	Head    string   // hash of the last record checked
	Problem *Problem // the first problem found; nil when the chain holds
}

// Reasons shared by Verify and VerifyFile.
const (
	reasonChanged    = "its content does not match its hash: it was changed"
	reasonColumns    = "its columns differ from its content: it was changed"
	reasonRunPrev    = "its run_prev does not match the run's previous record"
	reasonNoRecords  = "listed in runs but has no records: its records were removed"
	reasonNotListed  = "has records but is missing from the runs list"
	typeRunStarted   = "run.started"
	shortHashLen     = 12
	reasonPrevHashOf = "its prev_hash does not match record %d: records were reordered, inserted or removed"
)

func reasonPrevHash(seq int64) string {
	if seq <= 1 {
		return "it is the first record but has a prev_hash: records were inserted before it"
	}
	return fmt.Sprintf(reasonPrevHashOf, seq-1)
}

func reasonMissing(from, to int64) string {
	if from == to {
		return fmt.Sprintf("record %d is missing: deleted", from)
	}
	return fmt.Sprintf("records %d..%d are missing: deleted", from, to)
}

func reasonOrder(seq, prev int64) string {
	if seq == prev {
		return fmt.Sprintf("record seq %d appears twice: inserted or duplicated", seq)
	}
	return fmt.Sprintf("record seq %d comes after seq %d: reordered", seq, prev)
}

func reasonFirst(typ string) string {
	return "the run's first record is " + typ + ", not run.started: its start was removed"
}

func short(h string) string {
	if len(h) > shortHashLen {
		return h[:shortHashLen] + "…"
	}
	return h
}

// hashMatches says whether hash is the hex SHA-256 of body, without
// allocating.
func hashMatches(body []byte, hash string) bool {
	sum := sha256.Sum256(body)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:]) == hash
}

// errStop ends a Records walk at the first problem.
var errStop = errors.New("journal: stop")

func recordProblem(r Record, reason string) *Problem {
	return &Problem{Seq: r.Seq, RunID: r.RunID, Type: r.Type, Reason: reason}
}

// checker checks records as a store gives them.
type checker struct {
	buf []byte
}

// check checks a record's hash, its body, and that the store's fields
// agree with the body. It returns the body's header.
func (c *checker) check(r Record) (Record, *Problem) {
	if !hashMatches(r.Body, r.Hash) {
		return Record{}, recordProblem(r, reasonChanged)
	}
	// Mostly, the body is the one Seal makes of the fields: then they
	// agree, and there is nothing to parse.
	if len(r.Data) > 0 {
		c.buf = appendBody(c.buf[:0], r.Seq, r.RunID, r.Time, r.Type, r.PrevHash, r.RunPrev, r.Data)
		if bytes.Equal(c.buf, r.Body) {
			return r, nil
		}
	}
	h, err := ParseBody(r.Body)
	if err != nil {
		return Record{}, recordProblem(r, "its content is not a record: "+formatReason(err))
	}
	if h.Seq != r.Seq || h.RunID != r.RunID || h.Type != r.Type || !h.Time.Equal(r.Time) {
		return Record{}, recordProblem(r, reasonColumns)
	}
	h.Hash = r.Hash
	return h, nil
}

func formatReason(err error) string {
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return err.Error()
}

// Verify checks the chain of the whole journal (runID "") or of one run,
// and reports the first problem: a record changed, removed, reordered or
// inserted, a run removed, or the head or the runs list out of step with
// the records. The error is for failures to read the store, or
// ErrRunNotFound for a run with neither records nor a summary.
//
// It reads one snapshot of the store (Store.Snapshot), so that others
// appending meanwhile do not look like tampering. It walks the records
// once, in seq order, then the runs list once, keeping only a runTail per
// run.
func Verify(ctx context.Context, s Store, runID string) (rep Report, err error) {
	err = s.Snapshot(ctx, func(r Reader) error {
		if runID != "" {
			rep, err = verifyRun(ctx, r, runID)
		} else {
			rep, err = verifyAll(ctx, r)
		}
		return err
	})
	return rep, err
}

// verifyAll checks the whole journal that s reads.
func verifyAll(ctx context.Context, s Reader) (Report, error) {
	var (
		c        checker
		rep      Report
		prevSeq  int64
		prevHash string
		runs     = map[string]runTail{}
		versions = map[string]versionUse{}
	)
	walk := func(r Record) error {
		h, p := c.check(r)
		switch {
		case p != nil:
		case h.Seq <= prevSeq:
			p = recordProblem(r, reasonOrder(h.Seq, prevSeq))
		case h.Seq > prevSeq+1:
			p = recordProblem(r, reasonMissing(prevSeq+1, h.Seq-1))
		case h.PrevHash != prevHash:
			p = recordProblem(r, reasonPrevHash(h.Seq))
		}
		tail, seen := runs[h.RunID]
		if p == nil && !seen && h.Type != typeRunStarted {
			p = recordProblem(r, reasonFirst(h.Type))
		}
		if p == nil && !tail.follows(seen, h.RunPrev) {
			p = recordProblem(r, reasonRunPrev)
		}
		if p != nil {
			rep.Problem = p
			return errStop
		}
		if d := tail.mark.markRecord(h); d != nil && !seen {
			if v := startedVersion(d); v != "" {
				if _, ok := versions[v]; !ok {
					versions[v] = versionUse{runID: h.RunID, seq: h.Seq}
				}
			}
		}
		if !seen {
			tail.first = h.Seq
		}
		// check matched h.Hash against the body's SHA-256: it is hex.
		hex.Decode(tail.last[:], []byte(h.Hash))
		runs[h.RunID] = tail
		prevSeq, prevHash = h.Seq, h.Hash
		rep.Records++
		return nil
	}
	err := s.Records(ctx, "", time.Time{}, walk)
	rep.Runs, rep.Head = len(runs), prevHash
	if errors.Is(err, errStop) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	headSeq, headHash, err := s.Head(ctx)
	if err != nil {
		return rep, err
	}
	if p := headProblem(headSeq, headHash, prevSeq, prevHash); p != nil {
		rep.Problem = p
		return rep, nil
	}
	// The first run listed without records, in the list's order.
	err = s.Runs(ctx, Filter{}, func(r Run) error {
		tail, ok := runs[r.ID]
		if !ok {
			rep.Problem = &Problem{RunID: r.ID, Reason: reasonNoRecords}
			return errStop
		}
		if markOf(&r) != tail.mark {
			p, err := summaryProblem(ctx, s, r)
			if err != nil {
				return err
			}
			if p != nil {
				rep.Problem = p
				return errStop
			}
		}
		tail.listed = true
		runs[r.ID] = tail
		return nil
	})
	if errors.Is(err, errStop) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	// The first run with records but not listed, by its first record.
	var unlisted string
	var first int64
	for id, tail := range runs {
		if !tail.listed && (unlisted == "" || tail.first < first) {
			unlisted, first = id, tail.first
		}
	}
	if unlisted != "" {
		rep.Problem = &Problem{RunID: unlisted, Reason: reasonNotListed}
		return rep, nil
	}
	rep.Problem, err = checkSources(ctx, s, versions)
	return rep, err
}

// runTail is what Verify keeps of a run while it walks the journal: 97
// bytes, its status and the run's id, so about 150 bytes a run in its
// map (15 MB for 100,000 runs).
type runTail struct {
	last   [sha256.Size]byte // the hash of its last record so far
	first  int64             // the seq of its first record
	listed bool              // the runs list names it
	mark   runMark           // what its records say of its summary
}

// follows says whether runPrev, the run_prev of a record of the run, is
// the hash of the run's last record so far ("" for its first, when the
// run has not been seen).
func (t *runTail) follows(seen bool, runPrev string) bool {
	if !seen {
		return runPrev == ""
	}
	return isHexOf(runPrev, t.last)
}

// isHexOf says whether h is the hex of sum, without allocating.
func isHexOf(h string, sum [sha256.Size]byte) bool {
	var b [2 * sha256.Size]byte
	hex.Encode(b[:], sum[:])
	return string(b[:]) == h
}

// headProblem compares the store's head with the last record.
func headProblem(headSeq int64, headHash string, lastSeq int64, lastHash string) *Problem {
	head := fmt.Sprintf("the journal's head is record %d (hash %s)", headSeq, short(headHash))
	switch {
	case headSeq == lastSeq && headHash == lastHash:
		return nil
	case headSeq == 0:
		return &Problem{Reason: fmt.Sprintf("the journal has no head but its last record is %d: the head was removed", lastSeq)}
	case lastSeq == 0:
		return &Problem{Seq: headSeq, Reason: head + " but the journal has no records: its records were removed"}
	case headSeq > lastSeq:
		return &Problem{Seq: headSeq, Reason: fmt.Sprintf("%s but the last record is %d: records at the end were removed", head, lastSeq)}
	case headSeq < lastSeq:
		return &Problem{Seq: headSeq, Reason: fmt.Sprintf("%s but the last record is %d: records were added after the head", head, lastSeq)}
	default:
		return &Problem{Seq: headSeq, Reason: fmt.Sprintf("%s but the record's hash is %s: it was changed", head, short(lastHash))}
	}
}

// verifyRun checks one run's chain, and each of its records' link to the
// record before it in the whole journal.
func verifyRun(ctx context.Context, s Reader, runID string) (Report, error) {
	rep := Report{Runs: 1}
	var c checker
	var first, last Record
	var summary recorded
	walk := func(r Record) error {
		h, p := c.check(r)
		switch {
		case p != nil:
		case rep.Records == 0 && h.Type != typeRunStarted:
			p = recordProblem(r, reasonFirst(h.Type))
		case h.RunPrev != last.Hash:
			p = recordProblem(r, reasonRunPrev)
		case h.Seq == 1 && h.PrevHash != "":
			p = recordProblem(r, reasonPrevHash(1))
		case h.Seq > 1:
			prev, ok, err := s.Record(ctx, h.Seq-1)
			if err != nil {
				return err
			}
			if !ok {
				p = recordProblem(r, fmt.Sprintf("record %d before it is missing: deleted", h.Seq-1))
			} else if prev.Hash != h.PrevHash {
				p = recordProblem(r, reasonPrevHash(h.Seq))
			}
		}
		if p != nil {
			rep.Problem = p
			return errStop
		}
		if rep.Records == 0 {
			first = h
		}
		if err := summary.applyRecord(h); err != nil {
			return err
		}
		last = h
		rep.Records++
		rep.Head = h.Hash
		return nil
	}
	err := s.Records(ctx, runID, time.Time{}, walk)
	if errors.Is(err, errStop) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	listed, err := s.Run(ctx, runID)
	switch {
	case errors.Is(err, ErrRunNotFound) && rep.Records == 0:
		return Report{}, err
	case errors.Is(err, ErrRunNotFound):
		rep.Problem = &Problem{RunID: runID, Reason: reasonNotListed}
		return rep, nil
	case err != nil:
		return rep, err
	case rep.Records == 0:
		rep.Problem = &Problem{RunID: runID, Reason: reasonNoRecords}
		return rep, nil
	}
	p, err := checkAfter(ctx, s, last)
	if p == nil && err == nil {
		p = mismatchProblem(runID, summary.mismatches(listed))
	}
	if p == nil && err == nil {
		if v := versionOf(first.Data); v != "" {
			p, err = sourceProblem(ctx, s, v, versionUse{runID: runID, seq: first.Seq})
		}
	}
	rep.Problem = p
	return rep, err
}

// checkAfter checks that the run's last record is the head or is linked
// to by the record after it.
func checkAfter(ctx context.Context, s Reader, last Record) (*Problem, error) {
	headSeq, headHash, err := s.Head(ctx)
	if err != nil {
		return nil, err
	}
	if headSeq <= last.Seq {
		return headProblem(headSeq, headHash, last.Seq, last.Hash), nil
	}
	next, ok, err := s.Record(ctx, last.Seq+1)
	if err != nil {
		return nil, err
	}
	if !ok {
		return recordProblem(last, fmt.Sprintf("record %d after it is missing: deleted", last.Seq+1)), nil
	}
	h, p := new(checker).check(next)
	if p != nil {
		return p, nil
	}
	if h.PrevHash != last.Hash {
		return recordProblem(next, reasonPrevHash(next.Seq)), nil
	}
	return nil, nil
}
