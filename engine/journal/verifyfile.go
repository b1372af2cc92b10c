package journal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxLine is the longest export line VerifyFile reads.
const MaxLine = 64 << 20

const (
	reasonTruncatedLine = "it is not a complete record: the export was truncated"
	reasonAfterTrailer  = "it comes after the export.end line: lines were added"
)

// VerifyFile checks an export (see Export) on its own: each line's hash,
// the chain between consecutive records and within each run, and the
// export.end line against the records. What must hold depends on the
// export, as its export.end line says: a whole-journal export starts at
// record 1 with no seq missing; an export without since starts each run
// with its run.started record; in an export with since, a run's first
// record in the file is taken as its anchor. It reports the first
// problem by line; the error is for failures to read r.
func VerifyFile(r io.Reader) (Report, error) {
	c := fileCheck{runLast: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine+1)
	partial := false
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			partial = true
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		c.line++
		c.add(sc.Bytes(), partial)
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		c.setFirst(&Problem{Line: c.line + 1, Reason: "it is longer than 64 MiB: not a record"})
	} else if err != nil {
		return Report{}, fmt.Errorf("journal: reading the export: %w", err)
	}
	return c.finish(), nil
}

// fileCheck is VerifyFile's state. Checks that hold for every export
// stop it at the first problem (first); checks that depend on the kind of
// export, which the last line tells, keep their first failure aside
// (gap, start) or what they need to decide at the end (runStarts, early).
//
// In a whole-journal export, the first seq missing explains the other
// problems of its line (the run's chain broken, or the run's start
// missing): those are kept apart (atGap), and the missing seq itself is
// no problem when it shows up later: records were reordered, not removed.
type fileCheck struct {
	line     int
	records  int
	firstSeq int64
	prevSeq  int64
	prevHash string
	runLast  map[string]string // last hash of each run

	first *Problem // first problem of any export
	gap   *Problem // first missing seq: a problem in a whole-journal export
	start *Problem // first run not started by run.started: a problem without since
	// gapFrom..gapTo are the seqs gap says are missing; reordered is set
	// when one of them comes later.
	gapFrom, gapTo int64
	reordered      bool
	// the problems on gap's line: a broken run chain (any export) and a
	// run without its start (without since).
	atGap, startAtGap *Problem

	runStarts []*Problem // each run's first record, by line
	// early holds the records older than every record before them: the
	// first record older than since, if any, is one of them.
	early []timedProblem

	tr       *trailer
	trLine   int
	trailers int
}

type timedProblem struct {
	t time.Time
	p *Problem
}

func (c *fileCheck) setFirst(p *Problem) {
	if c.first == nil {
		c.first = p
	}
}

func (c *fileCheck) add(line []byte, partial bool) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	if c.trailers > 0 {
		c.setFirst(&Problem{Line: c.line, Reason: reasonAfterTrailer})
		return
	}
	body, hash, err := splitLine(line)
	if err != nil {
		reason := formatReason(err)
		if partial {
			reason = reasonTruncatedLine
		}
		c.setFirst(&Problem{Line: c.line, Reason: reason})
		return
	}
	if bytes.HasPrefix(body, []byte(trailerPrefix)) {
		c.addTrailer(body, hash)
		return
	}
	if c.first != nil {
		return // only the export.end line matters now
	}
	h, perr := ParseBody(body)
	p := func(reason string) *Problem {
		return &Problem{Line: c.line, Seq: h.Seq, RunID: h.RunID, Type: h.Type, Reason: reason}
	}
	if !hashMatches(body, hash) {
		c.setFirst(p(reasonChanged))
		return
	}
	if perr != nil {
		c.setFirst(&Problem{Line: c.line, Reason: "its content is not a record: " + formatReason(perr)})
		return
	}
	if c.records > 0 && h.Seq <= c.prevSeq {
		if c.gap != nil && h.Seq >= c.gapFrom && h.Seq <= c.gapTo {
			c.reordered = true
		}
		c.setFirst(p(reasonOrder(h.Seq, c.prevSeq)))
		return
	}
	if h.Seq == c.prevSeq+1 {
		if h.PrevHash != c.prevHash {
			c.setFirst(p(reasonPrevHash(h.Seq)))
			return
		}
	} else if c.gap == nil {
		c.gap = p(reasonMissing(c.prevSeq+1, h.Seq-1))
		c.gapFrom, c.gapTo = c.prevSeq+1, h.Seq-1
	}
	atGap := c.gap != nil && c.gap.Line == c.line
	last, seen := c.runLast[h.RunID]
	switch {
	case seen && h.RunPrev != last && atGap:
		c.atGap = p(reasonRunPrev)
	case seen && h.RunPrev != last:
		c.setFirst(p(reasonRunPrev))
		return
	case !seen:
		var start *Problem
		if h.Type != typeRunStarted {
			start = p(reasonFirst(h.Type))
		} else if h.RunPrev != "" {
			start = p(reasonRunPrev)
		}
		if atGap {
			c.startAtGap = start
		} else if c.start == nil {
			c.start = start
		}
		c.runStarts = append(c.runStarts, p(""))
	}
	if n := len(c.early); n == 0 || h.Time.Before(c.early[n-1].t) {
		c.early = append(c.early, timedProblem{h.Time, p("")})
	}
	if c.records == 0 {
		c.firstSeq = h.Seq
	}
	c.records++
	c.prevSeq, c.prevHash = h.Seq, hash
	c.runLast[h.RunID] = hash
}

func (c *fileCheck) addTrailer(body []byte, hash string) {
	c.trailers++
	c.trLine = c.line
	t, err := parseTrailer(body)
	if err != nil {
		c.setFirst(&Problem{Line: c.line, Reason: formatReason(err)})
		return
	}
	c.tr = &t
	if !hashMatches(body, hash) {
		c.setFirst(&Problem{Line: c.line, Reason: reasonChanged})
	}
}

func (c *fileCheck) finish() Report {
	rep := Report{Records: c.records, Runs: len(c.runLast), Head: c.prevHash}
	t := c.tr
	if t == nil {
		rep.Problem = earliest(c.atGap, c.first)
		if rep.Problem == nil && c.records == 0 {
			rep.Problem = &Problem{Reason: "the export has no records and no export.end line: it was truncated"}
		} else if rep.Problem == nil {
			rep.Problem = &Problem{Reason: fmt.Sprintf("the export ends without its export.end line: it was truncated after record %d", c.prevSeq)}
		}
		return rep
	}
	// On the same line, the first found is the one reported.
	var found []*Problem
	if t.RunID == "" && t.Since == "" {
		if !c.reordered {
			found = append(found, c.gap)
		}
		found = append(found, c.first, c.start)
		rep.Problem = earliest(found...)
		if rep.Problem == nil {
			rep.Problem = c.trailerProblem()
		}
		return rep
	}
	if t.RunID != "" {
		for _, p := range c.runStarts {
			if p.RunID != t.RunID {
				q := *p
				q.Reason = "it belongs to run " + p.RunID + ", not to the exported run " + t.RunID + ": it was inserted"
				found = append(found, &q)
				break
			}
		}
	}
	if since, err := time.Parse(time.RFC3339Nano, t.Since); err == nil && t.Since != "" {
		for _, e := range c.early {
			if e.t.Before(since) {
				q := *e.p
				q.Reason = "its time is before the export's since, " + t.Since + ": it was inserted"
				found = append(found, &q)
				break
			}
		}
	}
	found = append(found, c.atGap, c.first)
	if t.Since == "" {
		found = append(found, c.startAtGap, c.start)
	}
	rep.Problem = earliest(found...)
	if rep.Problem == nil {
		rep.Problem = c.trailerProblem()
	}
	return rep
}

// trailerProblem compares the export.end line with the records.
func (c *fileCheck) trailerProblem() *Problem {
	t := c.tr
	p := func(format string, a ...any) *Problem {
		return &Problem{Line: c.trLine, Reason: "the export.end line " + fmt.Sprintf(format, a...)}
	}
	switch {
	case t.LastSeq > c.prevSeq:
		return p("says the last record is %d but it is %d: records at the end were removed", t.LastSeq, c.prevSeq)
	case t.LastSeq < c.prevSeq:
		return p("says the last record is %d but it is %d: records were added at the end", t.LastSeq, c.prevSeq)
	case t.LastHash != c.prevHash:
		return p("says the last record's hash is %s but it is %s: it was changed", short(t.LastHash), short(c.prevHash))
	case t.FirstSeq < c.firstSeq:
		return p("says the first record is %d but it is %d: records at the start were removed", t.FirstSeq, c.firstSeq)
	case t.FirstSeq > c.firstSeq:
		return p("says the first record is %d but it is %d: records were added at the start", t.FirstSeq, c.firstSeq)
	case t.Records != c.records:
		return p("counts %d records but the export has %d: records were removed or inserted", t.Records, c.records)
	case t.Type != TrailerType:
		return p("has type %q", t.Type)
	}
	return nil
}

// earliest is the problem on the first line; of several on that line, the
// first given.
func earliest(ps ...*Problem) *Problem {
	var e *Problem
	for _, p := range ps {
		if p != nil && (e == nil || p.Line < e.Line) {
			e = p
		}
	}
	return e
}
