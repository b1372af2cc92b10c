package api_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

const hello = `version: 1
name: hello
inputs:
  who:
    type: string
    required: true
    pattern: '^[a-z]+$'
  times:
    type: integer
    default: 1
  token:
    type: string
    secret: true
steps:
  - id: greet
    action: core.set
    with:
      greeting: hello ${{ inputs.who }}
outputs:
  greeting: ${{ steps.greet.outputs.greeting }}
`

const refund = `version: 1
name: refund
steps:
  - id: look
    action: core.set
    with: {amount: 25}
  - id: pay
    approval:
      message: Refund 25?
      approvers: [group:leads]
    action: core.set
    with: {paid: true}
`

const slow = `version: 1
name: slow
steps:
  - id: wait
    action: core.sleep
    with: {duration: 1m}
`

// started starts a run as who and returns its id.
func (f *fixture) start(who, runbook string, inputs map[string]any) string {
	f.t.Helper()
	res := f.do("POST", "/api/v1/runs", who, api.StartRequest{Runbook: runbook, Inputs: inputs})
	if res.status != http.StatusAccepted {
		f.t.Fatalf("start %s: %d %s", runbook, res.status, res.body)
	}
	var st api.Started
	res.decode(f.t, &st)
	if st.ID == "" || res.header.Get("Location") != "/api/v1/runs/"+st.ID || st.Events != "/api/v1/runs/"+st.ID+"/events" {
		f.t.Fatalf("started %+v, Location %q", st, res.header.Get("Location"))
	}
	return st.ID
}

// events reads the run's event stream to its end.
func (f *fixture) events(id, who string, header ...string) []sse {
	f.t.Helper()
	res := f.do("GET", "/api/v1/runs/"+id+"/events", who, nil, header...)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/event-stream" {
		f.t.Fatalf("events: %d %s", res.status, res.body)
	}
	evs, err := readSSE(strings.NewReader(string(res.body)))
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}

// document is what the tests read of a run's document (runs.Document,
// whose durations are written as text only).
type document struct {
	Run       journal.Run         `json:"run"`
	Origin    journal.Origin      `json:"origin"`
	Inputs    map[string]any      `json:"inputs"`
	Outputs   map[string]any      `json:"outputs"`
	Approvals []*journal.Decision `json:"approvals"`
	Waiting   []*journal.Waiting  `json:"waiting"`
}

func (f *fixture) show(id string) *document {
	f.t.Helper()
	res := f.do("GET", "/api/v1/runs/"+id, "viewer", nil)
	if res.status != http.StatusOK {
		f.t.Fatalf("show %s: %d %s", id, res.status, res.body)
	}
	var d document
	res.decode(f.t, &d)
	return &d
}

// A run started over the API is recorded with the principal as its
// actor; its events stream live, one per record with the record's seq
// as id, and resume after Last-Event-ID.
func TestStartAndEvents(t *testing.T) {
	f := newFixture(t, map[string]string{"hello": hello})
	id := f.start("narrow", "hello", map[string]any{"who": "ana", "times": 2, "token": "s3cr3t"})
	evs := f.events(id, "viewer")
	var types []string
	for i, e := range evs {
		types = append(types, e.Event)
		if seq, err := strconv.Atoi(e.ID); err != nil || seq < 1 || (i > 0 && e.ID <= evs[i-1].ID && len(e.ID) == len(evs[i-1].ID)) {
			t.Fatalf("event %d has id %q", i, e.ID)
		}
	}
	if types[0] != "run.started" || types[len(types)-1] != "run.finished" {
		t.Fatalf("events %v", types)
	}
	if strings.Contains(string(f.do("GET", "/api/v1/runs/"+id+"/events", "viewer", nil).body), "s3cr3t") {
		t.Fatal("the secret input is in the event stream")
	}
	// Resumed after the first event: the others, the same.
	rest := f.events(id, "viewer", "Last-Event-ID", evs[0].ID)
	if len(rest) != len(evs)-1 || rest[0].ID != evs[1].ID {
		t.Fatalf("after %s: %d events, want %d", evs[0].ID, len(rest), len(evs)-1)
	}
	if again := f.do("GET", "/api/v1/runs/"+id+"/events", "viewer", nil, "Last-Event-ID", evs[len(evs)-1].ID); again.status != http.StatusNoContent {
		t.Fatalf("after the last event of an ended run: %d %s", again.status, again.body)
	}
	d := f.show(id)
	if d.Run.Status != "succeeded" || d.Run.Actor != "nico" || d.Outputs["greeting"] != "hello ana" || d.Inputs["token"] != "***" {
		t.Fatalf("run %+v, outputs %v, inputs %v", d.Run, d.Outputs, d.Inputs)
	}
	if d.Origin.Trigger == nil || d.Origin.Trigger.Kind != "api" {
		t.Fatalf("origin %+v", d.Origin)
	}
	// narrow may view but not run refund.
	if p := f.do("POST", "/api/v1/runs", "narrow", api.StartRequest{Runbook: "refund"}).problem(t); p.Status != 403 || p.Type != "urn:steward:problem:forbidden" {
		t.Fatalf("%+v", p)
	}
	if p := f.do("GET", "/api/v1/runs/"+id+"/events", "viewer", nil, "Last-Event-ID", "x").problem(t); p.Status != 400 {
		t.Fatalf("%+v", p)
	}
}

// Approvals over the API follow the run service's rules: the starter
// may not approve (four eyes), a viewer may not decide, an approver of
// the step's group does; a second decision is refused with who decided.
func TestApprovals(t *testing.T) {
	f := newFixture(t, map[string]string{"refund": refund})
	id := f.start("ops", "refund", nil)
	evs := f.events(id, "viewer") // ends when the run waits
	if last := evs[len(evs)-1]; last.Event != "run.finished" || !strings.Contains(string(last.Data), `"waiting"`) {
		t.Fatalf("the stream ended with %s %s", last.Event, last.Data)
	}
	if d := f.show(id); d.Run.Status != "waiting" || len(d.Waiting) != 1 || d.Waiting[0].Step != "pay" {
		t.Fatalf("%+v %+v", d.Run, d.Waiting)
	}
	decide := api.DecideRequest{Step: "pay", Comment: "checked"}
	if p := f.do("POST", "/api/v1/runs/"+id+"/approve", "viewer", decide).problem(t); p.Status != 403 || p.Type != "urn:steward:problem:forbidden" {
		t.Fatalf("viewer: %+v", p)
	}
	// olga started it, and is no lead: refused either way.
	if p := f.do("POST", "/api/v1/runs/"+id+"/approve", "ops", decide).problem(t); p.Status != 403 || p.Type != "urn:steward:problem:refused" {
		t.Fatalf("starter: %+v", p)
	}
	if p := f.do("POST", "/api/v1/runs/"+id+"/approve", "ops", api.DecideRequest{}).problem(t); p.Status != 422 || p.Errors[0].Path != "step" {
		t.Fatalf("no step: %+v", p)
	}
	if p := f.do("POST", "/api/v1/runs/"+id+"/approve", "lead", api.DecideRequest{Step: "look"}).problem(t); p.Status != 409 || p.Type != "urn:steward:problem:not-waiting" {
		t.Fatalf("a step that waits for nothing: %+v", p)
	}
	res := f.do("POST", "/api/v1/runs/"+id+"/approve", "lead", decide)
	var d api.Decision
	res.decode(t, &d)
	if res.status != 200 || !d.Approved || d.By != "lena" || d.Step != "pay" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	evs = f.events(id, "viewer", "Last-Event-ID", evs[len(evs)-1].ID)
	if last := evs[len(evs)-1]; last.Event != "run.finished" || !strings.Contains(string(last.Data), `"succeeded"`) {
		t.Fatalf("after the approval the stream ended with %s %s", last.Event, last.Data)
	}
	doc := f.show(id)
	if doc.Run.Status != "succeeded" || len(doc.Approvals) != 1 || doc.Approvals[0].By != "lena" || doc.Approvals[0].Comment != "checked" {
		t.Fatalf("%+v %+v", doc.Run, doc.Approvals)
	}
	if p := f.do("POST", "/api/v1/runs/"+id+"/deny", "admin", decide).problem(t); p.Status != 409 || p.Type != "urn:steward:problem:already-decided" || !strings.Contains(p.Detail, "lena") {
		t.Fatalf("second decision: %+v", p)
	}
}

// A waiting run decided without being executed (steward approve on
// another host records the decision; here the run service's Decide) goes
// on with POST resume.
func TestResume(t *testing.T) {
	f := newFixture(t, map[string]string{"refund": refund})
	id := f.start("ops", "refund", nil)
	f.events(id, "viewer")
	if _, err := f.svc.Decide(t.Context(), runs.DecideRequest{RunID: id, Step: "pay", Approved: false, By: "lena"}); err != nil {
		t.Fatal(err)
	}
	if p := f.do("POST", "/api/v1/runs/"+id+"/resume", "narrow", nil).problem(t); p.Status != 403 {
		t.Fatalf("%+v", p)
	}
	res := f.do("POST", "/api/v1/runs/"+id+"/resume", "ops", api.ResumeRequest{})
	if res.status != http.StatusAccepted {
		t.Fatalf("%d %s", res.status, res.body)
	}
	// From the start: past the run.finished of its wait, to its end.
	evs := f.events(id, "viewer")
	if last := evs[len(evs)-1]; last.Event != "run.finished" || !strings.Contains(string(last.Data), `"failed"`) {
		t.Fatalf("the stream ended with %s %s", last.Event, last.Data)
	}
	if d := f.show(id); d.Run.Status != "failed" {
		t.Fatalf("a denied step fails the run: %+v", d.Run)
	}
	if p := f.do("POST", "/api/v1/runs/"+id+"/resume", "ops", nil).problem(t); p.Status != 409 || p.Type != "urn:steward:problem:ended" {
		t.Fatalf("%+v", p)
	}
}

// Cancel ends a run executing in the background (its execution observes
// the request at its next heartbeat).
func TestCancel(t *testing.T) {
	f := newFixture(t, map[string]string{"slow": slow})
	id := f.start("ops", "slow", nil)
	res := f.do("POST", "/api/v1/runs/"+id+"/cancel", "ops", api.CancelRequest{Comment: "wrong ticket"})
	var c api.Cancelled
	res.decode(t, &c)
	if res.status != 200 || c.Status != "cancelled" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if p := f.do("POST", "/api/v1/runs/"+id+"/cancel", "ops", nil).problem(t); p.Status != 409 || p.Type != "urn:steward:problem:ended" {
		t.Fatalf("%+v", p)
	}
	if p := f.do("POST", "/api/v1/runs/nope/cancel", "ops", nil).problem(t); p.Status != 404 || p.Type != "urn:steward:problem:run-not-found" {
		t.Fatalf("%+v", p)
	}
}

// Bad requests are problems: the field paths and hints of invalid
// inputs and runbooks are the CLI's.
func TestProblems(t *testing.T) {
	broken := "version: 1\nname: broken\nsteps:\n  - id: a\n    action: core.nope\n"
	f := newFixture(t, map[string]string{"hello": hello, "broken": broken})
	p := f.do("POST", "/api/v1/runs", "ops", api.StartRequest{Runbook: "hello", Inputs: map[string]any{"who": "Ana!", "times": "x", "extra": 1}}).problem(t)
	if p.Status != 422 || p.Type != "urn:steward:problem:invalid-inputs" || len(p.Errors) != 3 {
		t.Fatalf("%+v", p)
	}
	paths := map[string]api.FieldError{}
	for _, e := range p.Errors {
		paths[e.Path] = e
	}
	if paths["inputs.who"].Message == "" || paths["inputs.who"].Hint == "" || paths["inputs.times"].Message == "" || paths["inputs.extra"].Message == "" {
		t.Fatalf("errors %+v", p.Errors)
	}
	p = f.do("POST", "/api/v1/runs", "ops", api.StartRequest{Runbook: "hello"}).problem(t)
	if p.Status != 422 || p.Errors[0].Path != "inputs.who" || p.Errors[0].Message != "is required" {
		t.Fatalf("%+v", p)
	}
	p = f.do("POST", "/api/v1/runs", "ops", api.StartRequest{Runbook: "broken"}).problem(t)
	if p.Status != 422 || p.Type != "urn:steward:problem:invalid-runbook" || len(p.Errors) == 0 ||
		p.Errors[0].Line != 5 || p.Errors[0].Column == 0 || !strings.HasPrefix(p.Errors[0].Path, "steps") {
		t.Fatalf("%+v", p)
	}
	for _, tc := range []struct {
		who, body string
		status    int
		typ       string
	}{
		{"ops", `{"runbook": "nope"}`, 404, "runbook-not-found"},
		{"ops", `{"runbook": "../etc/passwd"}`, 422, "invalid-request"},
		{"ops", `{"runbook": "hello", "imputs": {}}`, 400, "bad-request"},
		{"ops", `{"runbook": `, 400, "bad-request"},
		{"ops", `{}`, 422, "invalid-request"},
		{"", `{"runbook": "hello"}`, 401, "unauthenticated"},
		{"nobody", `{"runbook": "hello"}`, 401, "unauthenticated"},
		{"", `{"runbook": `, 401, "unauthenticated"}, // identity first, then the body
	} {
		if p := f.do("POST", "/api/v1/runs", tc.who, tc.body).problem(t); p.Status != tc.status || p.Type != "urn:steward:problem:"+tc.typ {
			t.Errorf("%s as %q: %+v", tc.body, tc.who, p)
		}
	}
	if p := f.do("GET", "/api/v1/runs/nope", "viewer", nil).problem(t); p.Status != 404 {
		t.Errorf("%+v", p)
	}
	if p := f.do("GET", "/api/v1/nothing", "viewer", nil).problem(t); p.Status != 404 {
		t.Errorf("%+v", p)
	}
	nothingRan := f.do("GET", "/api/v1/runs", "viewer", nil)
	var l api.RunList
	nothingRan.decode(t, &l)
	if len(l.Runs) != 0 {
		t.Fatalf("a refused start recorded %v", l.Runs)
	}
}

// The runs list filters, and pages with an opaque cursor that stays
// right when runs start between pages.
func TestListRuns(t *testing.T) {
	f := newFixture(t, map[string]string{"hello": hello, "refund": refund})
	var ids []string
	for i := range 5 {
		who := "ops"
		if i%2 == 1 {
			who = "narrow"
		}
		ids = append(ids, f.start(who, "hello", map[string]any{"who": "ana"}))
		f.events(ids[i], "viewer")
		time.Sleep(2 * time.Millisecond) // distinct starts, to check the order
	}
	page := func(q string) api.RunList {
		t.Helper()
		res := f.do("GET", "/api/v1/runs?"+q, "viewer", nil)
		if res.status != 200 {
			t.Fatalf("%s: %d %s", q, res.status, res.body)
		}
		var l api.RunList
		res.decode(t, &l)
		return l
	}
	p1 := page("limit=2")
	if len(p1.Runs) != 2 || p1.Runs[0].ID != ids[4] || p1.Runs[1].ID != ids[3] || p1.NextCursor == "" {
		t.Fatalf("page 1 %+v", p1)
	}
	// A run started between pages is on none of the next ones.
	newer := f.start("ops", "refund", nil)
	f.events(newer, "viewer")
	p2 := page("limit=2&cursor=" + p1.NextCursor)
	p3 := page("limit=2&cursor=" + p2.NextCursor)
	if len(p2.Runs) != 2 || p2.Runs[0].ID != ids[2] || p2.Runs[1].ID != ids[1] || len(p3.Runs) != 1 || p3.Runs[0].ID != ids[0] || p3.NextCursor != "" {
		t.Fatalf("pages %+v %+v", p2, p3)
	}
	if l := page("actor=nico"); len(l.Runs) != 2 || l.Runs[0].ID != ids[3] {
		t.Fatalf("actor %+v", l)
	}
	if l := page("status=waiting"); len(l.Runs) != 1 || l.Runs[0].ID != newer {
		t.Fatalf("status %+v", l)
	}
	if l := page("runbook=hello&status=succeeded&since=2000-01-01T00:00:00Z"); len(l.Runs) != 5 {
		t.Fatalf("runbook %+v", l)
	}
	if l := page("since=2999-01-01T00:00:00Z"); len(l.Runs) != 0 {
		t.Fatalf("since %+v", l)
	}
	// id_prefix: a start of the id's part after its second dash, as
	// steward show reads a RUN_ID.
	if l := page("id_prefix=" + ids[2][16:]); len(l.Runs) != 1 || l.Runs[0].ID != ids[2] {
		t.Fatalf("id_prefix %+v", l)
	}
	for _, q := range []string{"cursor=xyz", "limit=0", "limit=501", "since=yesterday", "status=bogus"} {
		res := f.do("GET", "/api/v1/runs?"+q, "viewer", nil)
		if q == "status=bogus" {
			continue // the validator checks the request's enum, not the server
		}
		if p := res.problem(t); p.Status != 400 || len(p.Errors) != 1 {
			t.Errorf("%s: %+v", q, p)
		}
	}
}

func mustResolve(f *fixture, name string) *runbooks.Document {
	f.t.Helper()
	doc, err := runbooks.ResolveName(name, []string{f.dir})
	if err != nil {
		f.t.Fatal(err)
	}
	return doc
}

func runsStart(actor string) runs.StartRequest {
	return runs.StartRequest{Actor: actor, Inputs: map[string]any{"who": "ana"}, Trigger: &journal.Trigger{Kind: "schedule", Name: "hello-0"}}
}

// A live stream with nothing to send sends a comment every KeepAlive, so
// that proxies keep it open; an EventSource ignores it.
func TestEventsKeepAlive(t *testing.T) {
	f := newFixture(t, map[string]string{"slow": slow}, func(c *api.Config) { c.KeepAlive = 20 * time.Millisecond })
	id := f.start("ops", "slow", nil)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/runs/"+id+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Test-Principal", "viewer")
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(res.Body)
	var seen []string
	for lines.Scan() && lines.Text() != ": keep-alive" {
		seen = append(seen, lines.Text())
	}
	cancel()
	res.Body.Close()
	if len(seen) == 0 || seen[0] != "id: 1" {
		t.Fatalf("before the keep-alive: %q", seen)
	}
	if r := f.do("POST", "/api/v1/runs/"+id+"/cancel", "ops", nil); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
