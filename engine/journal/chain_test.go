package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 10, 15, 2, 123456789, time.FixedZone("CET", 3600))

func TestSealLayout(t *testing.T) {
	r := Seal(7, "20261121-101502-3fa9c2d1", strings.Repeat("a", 64), strings.Repeat("b", 64),
		Entry{Type: "step.finished", Time: t0, Data: json.RawMessage(`{"step":"deploy","ok":true}`)})
	want := `{"seq":7,"run_id":"20261121-101502-3fa9c2d1","time":"2026-11-21T09:15:02.123456789Z","type":"step.finished",` +
		`"prev_hash":"` + strings.Repeat("a", 64) + `","run_prev":"` + strings.Repeat("b", 64) + `","data":{"step":"deploy","ok":true}}`
	if string(r.Body) != want {
		t.Fatalf("Body:\n got %s\nwant %s", r.Body, want)
	}
	sum := sha256.Sum256([]byte(want))
	if r.Hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("Hash = %s", r.Hash)
	}
	wantLine := want[:len(want)-1] + `,"hash":"` + r.Hash + `"}`
	if string(r.Line()) != wantLine {
		t.Fatalf("Line:\n got %s\nwant %s", r.Line(), wantLine)
	}
	if string(r.Data) != `{"step":"deploy","ok":true}` || !r.Time.Equal(t0) || r.Time.Location() != time.UTC {
		t.Fatalf("fields: %+v", r)
	}
	if !json.Valid(r.Line()) {
		t.Fatal("the line is not valid JSON")
	}
}

func TestSealEmptyData(t *testing.T) {
	r := Seal(1, "r", "", "", Entry{Type: "run.started", Time: t0})
	want := `{"seq":1,"run_id":"r","time":"2026-11-21T09:15:02.123456789Z","type":"run.started","prev_hash":"","run_prev":"","data":{}}`
	if string(r.Body) != want || string(r.Data) != "{}" {
		t.Fatalf("got %s, data %s", r.Body, r.Data)
	}
}

// Strings are written as encoding/json writes them, without HTML escaping.
func TestSealStrings(t *testing.T) {
	for _, s := range []string{"plain", `q"uote`, `back\slash`, "<b>&amp;</b>", "tab\tnl\n", "\x01", "é ü", "\u2028\u2029", "bad\xffutf8"} {
		r := Seal(1, s, "", "", Entry{Type: s, Time: t0})
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		quoted := strings.TrimSuffix(buf.String(), "\n")
		if !bytes.Contains(r.Body, []byte(`"run_id":`+quoted+`,`)) || !bytes.Contains(r.Body, []byte(`"type":`+quoted+`,`)) {
			t.Errorf("%q: body %s does not hold %s", s, r.Body, quoted)
		}
		p, err := ParseLine(r.Line())
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		var back string
		_ = json.Unmarshal([]byte(quoted), &back)
		if p.RunID != back || p.Type != back {
			t.Errorf("%q: parsed back as %q, %q", s, p.RunID, p.Type)
		}
	}
}

func TestParseLineRoundTrip(t *testing.T) {
	r := Seal(42, "run-1", strings.Repeat("c", 64), "", Entry{Type: "step.started", Time: t0,
		Data: json.RawMessage(`{"with":{"hash":"x","note":",\"hash\":\"y"}}`)})
	got, err := ParseLine(r.Line())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("got  %+v\nwant %+v", got, r)
	}
}

func TestParseLineErrors(t *testing.T) {
	good := Seal(1, "r", "", "", Entry{Type: "run.started", Time: t0})
	body := string(good.Body[:len(good.Body)-1])
	h := good.Hash
	for _, c := range []struct{ line, want string }{
		{``, "journal: not a JSON record"},
		{`hello`, "journal: not a JSON record"},
		{`["a"]`, "journal: not a JSON record"},
		{body + `}`, "journal: no hash member"},
		{body + `,"hash":"` + h + `","x":1}`, "journal: its hash member is not the last one"},
		{body + `,"hash":"` + h[:10] + `"}`, "journal: its hash is not 64 lowercase hex digits"},
		{body + `,"hash":"` + strings.ToUpper(h) + `"}`, "journal: its hash is not 64 lowercase hex digits"},
		{`{"seq":1,"run_id":"r"` + `,"hash":"` + h + `"}`, "journal: no time member"},
		{`{"seq":1,"run_id":"r","time":"2026","type":"t","prev_hash":"","run_prev":"","data":{}` + `,"hash":"` + h + `"}`,
			`journal: its time "2026" is not an RFC 3339 time`},
		{`{"seq":1,"run_id":"r","time":"2026-11-21T09:15:02Z","type":"t","prev_hash":"","run_prev":"","data":[]` + `,"hash":"` + h + `"}`,
			"journal: its data is not a JSON object"},
		{`{"seq":"1","run_id":"r"` + `,"hash":"` + h + `"}`,
			"journal: not a JSON record: json: cannot unmarshal string into Go struct field header.seq of type int64"},
		{`{"seq":1,"run_id":"r","time":"2026-11-21T09:15:02Z","type":"t","prev_hash":"","run_prev":"","data":{` + `,"hash":"` + h + `"}`,
			"journal: not a JSON record: unexpected end of JSON input"},
	} {
		_, err := ParseLine([]byte(c.line))
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseLine(%s):\n got %v\nwant %s", c.line, err, c.want)
		}
	}
}

func TestParseBodyFallback(t *testing.T) {
	// Not Seal's layout, but a record: encoding/json reads it.
	body := []byte(`{ "run_id":"r","seq":3,"type":"t","time":"2026-11-21T10:15:02+01:00","prev_hash":"p","run_prev":"q","data": {"a":1} }`)
	r, err := ParseBody(body)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Seq: 3, RunID: "r", Type: "t", Time: time.Date(2026, 11, 21, 9, 15, 2, 0, time.UTC),
		PrevHash: "p", RunPrev: "q", Data: json.RawMessage(`{"a":1}`), Body: body}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestProblemError(t *testing.T) {
	for _, c := range []struct {
		p    Problem
		want string
	}{
		{Problem{Seq: 42, RunID: "20261121-101502-3fa9c2d1", Type: "step.finished", Reason: "why"},
			"record 42 (run 20261121-101502-3fa9c2d1, step.finished): why"},
		{Problem{Seq: 42, Reason: "why"}, "record 42: why"},
		{Problem{RunID: "r1", Reason: "why"}, "run r1: why"},
		{Problem{Line: 12, Seq: 3, RunID: "r", Type: "t", Reason: "why"}, "line 12: record 3 (run r, t): why"},
		{Problem{Line: 12, Reason: "why"}, "line 12: why"},
		{Problem{Reason: "why"}, "why"},
	} {
		if got := c.p.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// FuzzParseBody checks that the fast parser agrees with encoding/json on
// every body it accepts.
func FuzzParseBody(f *testing.F) {
	f.Add(Seal(1, "r", "", "", Entry{Type: "run.started", Time: t0}).Body)
	f.Add(Seal(123456, "20261121-101502-3fa9c2d1", strings.Repeat("a", 64), strings.Repeat("b", 64),
		Entry{Type: "step.finished", Time: t0, Data: json.RawMessage(`{"a":[1,2,{"b":"c"}],"d":null}`)}).Body)
	f.Add([]byte(`{"seq":01,"run_id":"r","time":"2026-11-21T09:15:02Z","type":"t","prev_hash":"","run_prev":"","data":{}}`))
	f.Add([]byte(`{"seq":1,"run_id":"r","time":"2026-11-21T09:15:02Z","type":"t","prev_hash":"","run_prev":"","data":{} }`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := parseFast(body)
		if !ok {
			return
		}
		slow, err := parseJSON(body)
		if err != nil {
			t.Fatalf("fast parser accepts what encoding/json rejects (%v): %q", err, body)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("parsers disagree on %q:\nfast %+v\njson %+v", body, fast, slow)
		}
	})
}
