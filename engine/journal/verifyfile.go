package journal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

// FileReport is what VerifyFile checked: the Report, and what the export
// holds, as its export.end line says and its records confirm.
type FileReport struct {
	Report
	RunID    string // the exported run; "" for the whole journal
	Since    string // the export's since; "" when it has none
	FirstSeq int64  // the seq of its first record; 0 when it has none
	LastSeq  int64  // the seq of its last record (Head is its hash); 0 when it has none
	// HeadSeq and HeadHash are the journal's last record when the export
	// was made, as export.end says; 0 and "" when it does not say.
	HeadSeq  int64
	HeadHash string
}

// VerifyFile checks an export (see Export) on its own: each line's hash,
// the chain between consecutive records and within each run, the
// export.end line against the records, and each pin. What must hold
// depends on the export, as its export.end line says:
//   - an export of the whole journal, or since a time, is a contiguous
//     range of seq: no record is missing inside it; a whole-journal
//     export starts at record 1;
//   - without since, each run starts with its run.started record; with
//     since, a run's first record in the file is taken as its anchor,
//     and the export's first record is at or after since.
//
// It reports the first problem by line. Report.Records counts the records
// before it, which it does not put in doubt (none, for a pinned record
// whose hash differs). The error is for failures to read r.
func VerifyFile(r io.Reader, pins ...Pin) (FileReport, error) {
	c := fileCheck{runLast: map[string][sha256.Size]byte{}, pins: make([]pinState, len(pins)), bySeq: map[int64][]int{}}
	for i, p := range pins {
		c.pins[i].Pin = p
		c.bySeq[p.Seq] = append(c.bySeq[p.Seq], i)
	}
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
		c.setFirst(&finding{Problem{Line: c.line + 1, Reason: "it is longer than 64 MiB: not a record"}, c.records})
	} else if err != nil {
		return FileReport{}, fmt.Errorf("journal: reading the export: %w", err)
	}
	return c.finish(), nil
}

// finding is a problem and the number of records before it: those it
// does not put in doubt.
type finding struct {
	p    Problem
	good int
}

// gap is seqs missing between two records (or before the first one):
// from..to. It is no problem when one of them comes later (reordered):
// then the record out of order is.
type gap struct {
	f         *finding
	from, to  int64
	reordered bool
}

func (g *gap) holds(seq int64) bool { return g.f != nil && seq >= g.from && seq <= g.to }

// firsts keeps the first finding of a kind that depends on the export:
// the findings on a gap's line, which the gap may explain, and the first
// one on another line.
type firsts struct {
	onGap []*finding
	off   *finding
}

func (fs *firsts) add(f *finding, onGap bool) {
	switch {
	case f == nil || fs.off != nil:
	case onGap:
		fs.onGap = append(fs.onGap, f)
	default:
		fs.off = f
	}
}

// pick is the first finding not on a hidden line.
func (fs *firsts) pick(hidden func(line int) bool) *finding {
	for _, f := range fs.onGap {
		if !hidden(f.p.Line) {
			return f
		}
	}
	return fs.off
}

type pinState struct {
	Pin
	checked bool // a record of the export has its seq, or follows it
}

// fileCheck is VerifyFile's state. Checks that hold for every export
// stop it at the first problem (first); checks that depend on the kind of
// export, which the last line tells, keep their first failure aside.
//
// In an export that is a contiguous range of seq, a gap explains the
// other problems of its line (the run's chain broken, or the run's start
// missing): those are kept apart, and the gap itself is no problem when
// a missing seq shows up later: records were reordered, not removed.
type fileCheck struct {
	line     int
	records  int
	firstSeq int64
	prevSeq  int64
	prevHash string
	// runLast is the hash of each run's last record so far: what it
	// keeps of each run (about 90 bytes a run with the run's id).
	runLast map[string][sha256.Size]byte
	// firstRec is the first record, and firstTime its time: an export
	// since a time starts at the first record at or after it (the records
	// after it may be older: times need not rise with seq).
	firstRec  *finding
	firstTime time.Time

	first *finding // first problem of any export
	// lead is the seqs missing before the first record: a problem in a
	// whole-journal export, which starts at 1. mid is the first seqs
	// missing after it: a problem in any contiguous export.
	lead, mid gap
	// chain: a run's chain broken on a gap's line (elsewhere it is a
	// problem of any export). strict: a run whose first record is not a
	// run.started with no run_prev, a problem without since. loose: a
	// run's first record with no run_prev that is not run.started, or a
	// run.started with one, a problem with since.
	chain, strict, loose firsts

	// runStarts are the first records of the first two runs, by line:
	// in the export of one run, the first of them not of that run is the
	// first record inserted from another (run ids differ).
	runStarts []*finding

	pins  []pinState
	bySeq map[int64][]int // indexes in pins, by seq

	tr       *trailer
	trLine   int
	trailers int
}

func (c *fileCheck) setFirst(f *finding) {
	if c.first == nil {
		c.first = f
	}
}

func (c *fileCheck) add(line []byte, partial bool) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	lineProblem := func(reason string) *finding {
		return &finding{Problem{Line: c.line, Reason: reason}, c.records}
	}
	if c.trailers > 0 {
		c.setFirst(lineProblem(reasonAfterTrailer))
		return
	}
	body, hash, err := splitLine(line)
	if err != nil {
		reason := formatReason(err)
		if partial {
			reason = reasonTruncatedLine
		}
		c.setFirst(lineProblem(reason))
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
	p := func(reason string) *finding {
		return &finding{Problem{Line: c.line, Seq: h.Seq, RunID: h.RunID, Type: h.Type, Reason: reason}, c.records}
	}
	if !hashMatches(body, hash) {
		c.setFirst(p(reasonChanged))
		return
	}
	if perr != nil {
		c.setFirst(lineProblem("its content is not a record: " + formatReason(perr)))
		return
	}
	if c.records > 0 && h.Seq <= c.prevSeq {
		for _, g := range []*gap{&c.lead, &c.mid} {
			if g.holds(h.Seq) {
				g.reordered = true
			}
		}
		c.setFirst(p(reasonOrder(h.Seq, c.prevSeq)))
		return
	}
	onGap := false
	switch {
	case h.Seq == c.prevSeq+1:
		if h.PrevHash != c.prevHash {
			c.setFirst(p(reasonPrevHash(h.Seq)))
			return
		}
	case c.records == 0:
		c.lead = gap{f: p(reasonMissing(1, h.Seq-1)), from: 1, to: h.Seq - 1}
		onGap = true
	case c.mid.f == nil:
		c.mid = gap{f: p(reasonMissing(c.prevSeq+1, h.Seq-1)), from: c.prevSeq + 1, to: h.Seq - 1}
		onGap = true
	}
	last, seen := c.runLast[h.RunID]
	switch {
	case seen && !isHexOf(h.RunPrev, last) && onGap:
		c.chain.add(p(reasonRunPrev), true)
	case seen && !isHexOf(h.RunPrev, last):
		c.setFirst(p(reasonRunPrev))
		return
	case !seen:
		started := h.Type == typeRunStarted
		switch {
		case !started:
			c.strict.add(p(reasonFirst(h.Type)), onGap)
		case h.RunPrev != "":
			c.strict.add(p(reasonRunPrev), onGap)
		}
		switch {
		case !started && h.RunPrev == "":
			c.loose.add(p(reasonFirst(h.Type)), onGap)
		case started && h.RunPrev != "":
			c.loose.add(p(reasonRunPrev), onGap)
		}
		if len(c.runStarts) < 2 {
			c.runStarts = append(c.runStarts, p(""))
		}
	}
	c.checkPins(h, hash, p)
	if c.records == 0 {
		c.firstSeq, c.firstRec, c.firstTime = h.Seq, p(""), h.Time
	}
	c.records++
	c.prevSeq, c.prevHash = h.Seq, hash
	hex.Decode(last[:], []byte(hash)) // splitLine checked that it is hex
	c.runLast[h.RunID] = last
}

// checkPins compares the record with the pins of its seq, and its
// prev_hash with those of the seq before it. A pinned hash that differs
// puts every record before it in doubt: none is counted good.
func (c *fileCheck) checkPins(h Record, hash string, p func(string) *finding) {
	for _, i := range c.bySeq[h.Seq] {
		pin := &c.pins[i]
		pin.checked = true
		if pin.Hash != "" && pin.Hash != hash {
			f := p(reasonPinned(hash, pin.Pin))
			f.good = 0
			c.setFirst(f)
		}
	}
	for _, i := range c.bySeq[h.Seq-1] {
		pin := &c.pins[i]
		if pin.Hash == "" {
			continue
		}
		pin.checked = true
		if pin.Hash != h.PrevHash {
			f := p(reasonPinnedPrev(h.PrevHash, pin.Pin))
			f.good = 0
			c.setFirst(f)
		}
	}
}

func (c *fileCheck) addTrailer(body []byte, hash string) {
	c.trailers++
	c.trLine = c.line
	t, err := parseTrailer(body)
	if err != nil {
		c.setFirst(&finding{Problem{Line: c.line, Reason: formatReason(err)}, c.records})
		return
	}
	c.tr = &t
	if !hashMatches(body, hash) {
		c.setFirst(&finding{Problem{Line: c.line, Reason: reasonChanged}, c.records})
	}
}

func (c *fileCheck) finish() FileReport {
	rep := FileReport{Report: Report{Records: c.records, Runs: len(c.runLast), Head: c.prevHash},
		FirstSeq: c.firstSeq, LastSeq: c.prevSeq}
	var f *finding
	if t := c.tr; t == nil {
		f = earliest(c.chain.pick(func(int) bool { return false }), c.first)
		if f == nil && c.records == 0 {
			f = &finding{Problem{Reason: "the export has no records and no export.end line: it was truncated"}, 0}
		} else if f == nil {
			f = &finding{Problem{Reason: fmt.Sprintf("the export ends without its export.end line: it was truncated after record %d", c.prevSeq)}, c.records}
		}
	} else {
		rep.RunID, rep.Since, rep.HeadSeq, rep.HeadHash = t.RunID, t.Since, t.HeadSeq, t.HeadHash
		f = c.kindProblem(t)
		if f == nil {
			f = c.trailerProblem()
		}
		if f == nil {
			f = c.pinProblem()
		}
	}
	if f != nil {
		p := f.p
		rep.Problem, rep.Records = &p, f.good
	}
	return rep
}

// kindProblem is the first problem of the records, given what the
// export.end line says was exported.
func (c *fileCheck) kindProblem(t *trailer) *finding {
	contiguous := t.RunID == ""
	whole := contiguous && t.Since == ""
	hidden := func(line int) bool {
		return contiguous && ((c.mid.f != nil && line == c.mid.f.p.Line) || (whole && c.lead.f != nil && line == c.lead.f.p.Line))
	}
	// On the same line, the first given is the one reported.
	var found []*finding
	if whole && !c.lead.reordered {
		found = append(found, c.lead.f)
	}
	if contiguous && !c.mid.reordered {
		found = append(found, c.mid.f)
	}
	if t.RunID != "" {
		for _, f := range c.runStarts {
			if f.p.RunID != t.RunID {
				g := *f
				g.p.Reason = "it belongs to run " + f.p.RunID + ", not to the exported run " + t.RunID + ": it was inserted"
				found = append(found, &g)
				break
			}
		}
	}
	if since, err := time.Parse(time.RFC3339Nano, t.Since); err == nil && t.Since != "" && c.firstRec != nil && c.firstTime.Before(since) {
		g := *c.firstRec
		g.p.Reason = "its time is before the export's since, " + t.Since + ": it was inserted"
		found = append(found, &g)
	}
	found = append(found, c.chain.pick(hidden), c.first)
	if t.Since == "" {
		found = append(found, c.strict.pick(hidden))
	} else {
		found = append(found, c.loose.pick(hidden))
	}
	return earliest(found...)
}

// trailerProblem compares the export.end line with the records.
func (c *fileCheck) trailerProblem() *finding {
	t := c.tr
	p := func(format string, a ...any) *finding {
		return &finding{Problem{Line: c.trLine, Reason: "the export.end line " + fmt.Sprintf(format, a...)}, c.records}
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
	case t.HeadSeq == 0 && t.HeadHash == "":
		// An export.end line without the head (an older export).
	case t.RunID == "" && c.records > 0 && (t.HeadSeq != c.prevSeq || t.HeadHash != c.prevHash):
		// The journal's head is the last record exported.
		return p("says the journal's head is record %d (hash %s) but the export ends at record %d (hash %s): it was changed",
			t.HeadSeq, short(t.HeadHash), c.prevSeq, short(c.prevHash))
	case t.HeadSeq < c.prevSeq || (t.HeadSeq == c.prevSeq && t.HeadHash != c.prevHash):
		return p("says the journal's head is record %d (hash %s), before the export's last record %d (hash %s): it was changed",
			t.HeadSeq, short(t.HeadHash), c.prevSeq, short(c.prevHash))
	}
	return nil
}

// pinProblem is the first pin the export does not reach, or cannot be
// checked against.
func (c *fileCheck) pinProblem() *finding {
	for _, pin := range c.pins {
		var reason string
		switch {
		case pin.Seq > c.prevSeq && c.records == 0:
			reason = fmt.Sprintf("the export has no records, but %s says the journal holds record %d: records were removed, or the export was made before it",
				pin.From, pin.Seq)
		case pin.Seq > c.prevSeq:
			reason = fmt.Sprintf("the export ends at record %d, but %s says the journal holds record %d: records at the end were removed, or the export was made before it",
				c.prevSeq, pin.From, pin.Seq)
		case pin.Hash != "" && !pin.checked:
			reason = fmt.Sprintf("the export does not hold record %d of %s, nor the record after it: export the whole journal, or since a time before that record",
				pin.Seq, pin.From)
		default:
			continue
		}
		return &finding{Problem{Reason: reason}, c.records}
	}
	return nil
}

// earliest is the finding on the first line; of several on that line,
// the first given.
func earliest(fs ...*finding) *finding {
	var e *finding
	for _, f := range fs {
		if f != nil && (e == nil || f.p.Line < e.p.Line) {
			e = f
		}
	}
	return e
}
