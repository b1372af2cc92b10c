package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// ErrSourceNotFound is returned by Store.Source for a hash it does not hold.
var ErrSourceNotFound = errors.New("journal: runbook source not found")

// FormatError says why bytes are not a record (or an export line): the
// line, or the body, does not have the shape Seal gives it.
type FormatError struct {
	// Reason is the problem, without the "journal: " prefix.
	Reason string
}

// Error is the reason, prefixed with "journal: ".
func (e *FormatError) Error() string { return "journal: " + e.Reason }

func formatErr(reason string) error { return &FormatError{Reason: reason} }

const hashKey = `,"hash":"`

var emptyObject = json.RawMessage(`{}`)

// Seal places e in the chain as record seq of run runID, after the record
// whose hash is prevHash (the whole journal's previous record) and the one
// whose hash is runPrev (the run's previous record, "" for its first). Its
// Body is
//
//	{"seq":N,"run_id":"…","time":"…","type":"…","prev_hash":"…","run_prev":"…","data":{…}}
//
// with the time in UTC, RFC 3339 with nanoseconds, and e.Data verbatim
// ({} when empty); its Hash is the hex SHA-256 of Body. Data aliases Body.
func Seal(seq int64, runID string, prevHash, runPrev string, e Entry) Record {
	t := e.Time.UTC()
	data := e.Data
	if len(data) == 0 {
		data = emptyObject
	}
	b := make([]byte, 0, 120+len(runID)+len(e.Type)+len(prevHash)+len(runPrev)+len(data))
	b = appendBody(b, seq, runID, t, e.Type, prevHash, runPrev, data)
	start, end := len(b)-1-len(data), len(b)-1
	return Record{
		Seq:      seq,
		RunID:    runID,
		Time:     t,
		Type:     e.Type,
		PrevHash: prevHash,
		RunPrev:  runPrev,
		Data:     json.RawMessage(b[start:end:end]),
		Hash:     HashBody(b),
		Body:     b,
	}
}

// appendBody appends the body Seal makes of these fields.
func appendBody(b []byte, seq int64, runID string, t time.Time, typ, prevHash, runPrev string, data []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"run_id":`...)
	b = appendString(b, runID)
	b = append(b, `,"time":"`...)
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","type":`...)
	b = appendString(b, typ)
	b = append(b, `,"prev_hash":`...)
	b = appendString(b, prevHash)
	b = append(b, `,"run_prev":`...)
	b = appendString(b, runPrev)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// HashBody is the hex SHA-256 of a record's (or an export trailer's) body.
func HashBody(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Line is the record as stored and exported: Body with the hash member
// added last. It has no trailing newline.
func (r Record) Line() []byte {
	if len(r.Body) == 0 {
		return nil
	}
	return appendLine(make([]byte, 0, len(r.Body)+len(hashKey)+len(r.Hash)+2), r.Body, r.Hash)
}

// appendLine appends body, without its closing brace, then the hash member.
func appendLine(dst, body []byte, hash string) []byte {
	dst = append(dst, body[:len(body)-1]...)
	dst = append(dst, hashKey...)
	dst = append(dst, hash...)
	return append(dst, `"}`...)
}

// ParseLine reads one record line (without its newline): the hash is the
// value of the last hash member, Body the line without that member, and
// the other fields come from Body. Errors are *FormatError.
func ParseLine(line []byte) (Record, error) {
	body, hash, err := splitLine(line)
	if err != nil {
		return Record{}, err
	}
	r, err := ParseBody(body)
	if err != nil {
		return Record{}, err
	}
	r.Hash = hash
	return r, nil
}

// splitLine returns the body of a line (a fresh slice) and its hash.
func splitLine(line []byte) (body []byte, hash string, err error) {
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return nil, "", formatErr("not a JSON record")
	}
	i := bytes.LastIndex(line, []byte(hashKey))
	if i < 0 {
		return nil, "", formatErr("no hash member")
	}
	rest := line[i+len(hashKey):]
	if len(rest) < 2 || rest[len(rest)-2] != '"' {
		return nil, "", formatErr("its hash member is not the last one")
	}
	h := rest[:len(rest)-2]
	if !isHex(h) {
		return nil, "", formatErr("its hash is not 64 lowercase hex digits")
	}
	body = make([]byte, i+1)
	copy(body, line[:i])
	body[i] = '}'
	return body, string(h), nil
}

func isHex(h []byte) bool {
	if len(h) != 2*sha256.Size {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ParseBody reads a record's header fields and data from its Body (as
// Seal builds it), leaving Hash empty. Body is kept, not copied. Errors
// are *FormatError.
func ParseBody(body []byte) (Record, error) {
	if r, ok := parseFast(body); ok {
		return r, nil
	}
	return parseJSON(body)
}

// header is a body decoded by encoding/json; pointers tell missing members.
type header struct {
	Seq      *int64          `json:"seq"`
	RunID    *string         `json:"run_id"`
	Time     *string         `json:"time"`
	Type     *string         `json:"type"`
	PrevHash *string         `json:"prev_hash"`
	RunPrev  *string         `json:"run_prev"`
	Data     json.RawMessage `json:"data"`
}

func parseJSON(body []byte) (Record, error) {
	if len(body) == 0 || body[0] != '{' {
		return Record{}, formatErr("not a JSON record")
	}
	var h header
	if err := json.Unmarshal(body, &h); err != nil {
		return Record{}, formatErr("not a JSON record: " + err.Error())
	}
	missing := func(name string) (Record, error) {
		return Record{}, formatErr("no " + name + " member")
	}
	switch {
	case h.Seq == nil:
		return missing("seq")
	case h.RunID == nil:
		return missing("run_id")
	case h.Time == nil:
		return missing("time")
	case h.Type == nil:
		return missing("type")
	case h.PrevHash == nil:
		return missing("prev_hash")
	case h.RunPrev == nil:
		return missing("run_prev")
	case h.Data == nil:
		return missing("data")
	}
	if h.Data[0] != '{' {
		return Record{}, formatErr("its data is not a JSON object")
	}
	t, err := time.Parse(time.RFC3339Nano, *h.Time)
	if err != nil {
		return Record{}, formatErr("its time " + strconv.Quote(*h.Time) + " is not an RFC 3339 time")
	}
	return Record{
		Seq:      *h.Seq,
		RunID:    *h.RunID,
		Time:     t.UTC(),
		Type:     *h.Type,
		PrevHash: *h.PrevHash,
		RunPrev:  *h.RunPrev,
		Data:     h.Data,
		Body:     body,
	}, nil
}

// parseFast reads a body laid out exactly as Seal writes it, with plain
// ASCII strings; ok is false for anything else (parseJSON decides then).
// It gives the same Record as parseJSON for every body it accepts.
func parseFast(body []byte) (r Record, ok bool) {
	p, ok := cut(body, `{"seq":`)
	if !ok {
		return r, false
	}
	n := 0
	for n < len(p) && n < 19 && p[n] >= '0' && p[n] <= '9' {
		n++
	}
	if n == 0 || n > 18 || (p[0] == '0' && n > 1) {
		return r, false
	}
	for _, c := range p[:n] {
		r.Seq = r.Seq*10 + int64(c-'0')
	}
	p = p[n:]
	var ts string
	if r.RunID, p, ok = field(p, `,"run_id":"`); !ok {
		return r, false
	}
	if ts, p, ok = field(p, `,"time":"`); !ok {
		return r, false
	}
	if r.Type, p, ok = field(p, `,"type":"`); !ok {
		return r, false
	}
	if r.PrevHash, p, ok = field(p, `,"prev_hash":"`); !ok {
		return r, false
	}
	if r.RunPrev, p, ok = field(p, `,"run_prev":"`); !ok {
		return r, false
	}
	if p, ok = cut(p, `,"data":`); !ok {
		return r, false
	}
	// p is the data then the body's closing brace.
	if len(p) < 3 || p[0] != '{' || p[len(p)-2] != '}' || p[len(p)-1] != '}' {
		return r, false
	}
	data := p[: len(p)-1 : len(p)-1]
	if !validJSON(data) {
		return r, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return r, false
	}
	r.Time = t.UTC()
	r.Data = json.RawMessage(data)
	r.Body = body
	return r, true
}

func cut(p []byte, prefix string) ([]byte, bool) {
	if len(p) < len(prefix) || string(p[:len(prefix)]) != prefix {
		return p, false
	}
	return p[len(prefix):], true
}

// field reads key (which ends with the string's opening quote) and a
// string of printable ASCII without escapes.
func field(p []byte, key string) (string, []byte, bool) {
	p, ok := cut(p, key)
	if !ok {
		return "", p, false
	}
	for i, c := range p {
		if !ascii[c] {
			if c == '"' {
				return string(p[:i]), p[i+1:], true
			}
			return "", p, false
		}
	}
	return "", p, false
}

// ascii marks the bytes a JSON string holds as they are, in ASCII.
var ascii = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string, as encoding/json writes it
// with HTML escaping off.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !ascii[s[i]] {
			return appendStringJSON(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStringJSON(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
