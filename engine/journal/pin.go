package journal

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ParsePin reads a pin written SEQ:HASH, as a verify prints the last
// record; from goes in its messages.
func ParsePin(s, from string) (Pin, error) {
	seqText, hash, ok := strings.Cut(s, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 1 || !isHex([]byte(hash)) {
		return Pin{}, fmt.Errorf("journal: %q is not SEQ:HASH, a record's seq and its 64 hex digits hash (steward audit verify prints the last record so)", s)
	}
	return Pin{Seq: seq, Hash: hash, From: from}, nil
}

// Pin is a record an auditor knows of from outside the journal: the last
// record a verify printed and they kept (in a ticket, say), or the record
// a signed checkpoint names. A hash chain alone cannot tell records
// removed at its end, with the export.end line or the store's head made
// to match, nor a chain rewritten and re-sealed from a record on; a pin
// can. A pinned record whose hash matches proves every record up to it
// unchanged, and none of them removed or inserted, given that the chain
// holds.
type Pin struct {
	// Seq is the record's seq, 1 or more.
	Seq int64
	// Hash is the record's hash; "" when only the seq is known: the
	// journal, or the export, must reach it.
	Hash string
	// From says where the pin comes from, in messages: "--head",
	// "checkpoint cp.json".
	From string
}

func reasonPinned(hash string, pin Pin) string {
	return fmt.Sprintf("its hash is %s, not %s as %s says: it, or a record before it, was changed, removed or inserted",
		short(hash), short(pin.Hash), pin.From)
}

func reasonPinnedPrev(prevHash string, pin Pin) string {
	return fmt.Sprintf("its prev_hash is %s, not %s as %s says of record %d: record %d, or a record before it, was changed, removed or inserted",
		short(prevHash), short(pin.Hash), pin.From, pin.Seq, pin.Seq)
}

// VerifyPins checks pins against the store, after Verify checked the
// whole journal's chain (rep is its report; one with a problem is
// returned as it is): each pinned record is in the store, with the pinned
// hash. The first pin that fails is the report's problem; a pinned hash
// that differs puts every record before it in doubt, so none is counted
// good.
func VerifyPins(ctx context.Context, s Store, rep Report, pins []Pin) (Report, error) {
	if rep.Problem != nil {
		return rep, nil
	}
	p, err := pinsProblem(ctx, s, pins)
	if p != nil {
		rep.Problem = p
		if p.Seq > 0 {
			rep.Records = 0
		}
	}
	return rep, err
}

func pinsProblem(ctx context.Context, s Store, pins []Pin) (*Problem, error) {
	for _, pin := range pins {
		r, ok, err := s.Record(ctx, pin.Seq)
		if err != nil {
			return nil, err
		}
		if !ok {
			headSeq, _, err := s.Head(ctx)
			if err != nil {
				return nil, err
			}
			if headSeq >= pin.Seq {
				return &Problem{Reason: fmt.Sprintf("record %d, which %s names, is missing: deleted", pin.Seq, pin.From)}, nil
			}
			if headSeq == 0 {
				return &Problem{Reason: fmt.Sprintf("the journal has no records, but %s says it holds record %d: its records were removed", pin.From, pin.Seq)}, nil
			}
			return &Problem{Reason: fmt.Sprintf("the journal ends at record %d, but %s says it holds record %d: records at the end were removed",
				headSeq, pin.From, pin.Seq)}, nil
		}
		if pin.Hash != "" && r.Hash != pin.Hash {
			return recordProblem(r, reasonPinned(r.Hash, pin)), nil
		}
	}
	return nil, nil
}
