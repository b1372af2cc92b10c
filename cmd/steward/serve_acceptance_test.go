package main

// The acceptance tests of steward serve (issue 18), through the real
// binary with a temp home on a free port. SIGTERM during a running step
// leaving the run resumable, and a restarted serve resuming it to its
// end, is TestServeResumesInterruptedRunsAndShutsDownGracefully
// (serve_test.go); it is not repeated here.

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// record is what these tests read of a line of steward audit export.
type record struct {
	RunID string `json:"run_id"`
	Type  string `json:"type"`
	Data  struct {
		Runbook string `json:"runbook"`
		Actor   string `json:"actor"`
		Step    string `json:"step"`
		By      string `json:"by"`
		Status  string `json:"status"`
		Origin  *struct {
			Trigger *struct {
				Kind string    `json:"kind"`
				Name string    `json:"name"`
				Slot time.Time `json:"slot"`
				Key  string    `json:"key"`
			} `json:"trigger"`
		} `json:"origin"`
		Change *struct {
			Kind    string         `json:"kind"`
			Subject string         `json:"subject"`
			Details map[string]any `json:"details"`
		} `json:"change"`
	} `json:"data"`
}

// journalRecords is the whole journal of home, as steward audit export
// writes it.
func journalRecords(t *testing.T, dir, home string) []record {
	t.Helper()
	r := homeRun(t, dir, home, nil, "audit", "export")
	wantCode(t, r, exitOK, "audit export")
	var out []record
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

// slotOutcome is what the journal holds of one slot of a schedule.
type slotOutcome struct {
	fired   int      // runs started for the slot
	skipped []string // the reasons it was recorded as skipped
}

// slotOutcomes reads, per slot of schedule name, the runs it started and
// the skips recorded.
func slotOutcomes(t *testing.T, dir, home, name string) map[time.Time]*slotOutcome {
	t.Helper()
	out := map[time.Time]*slotOutcome{}
	at := func(slot time.Time) *slotOutcome {
		if out[slot] == nil {
			out[slot] = &slotOutcome{}
		}
		return out[slot]
	}
	for _, r := range journalRecords(t, dir, home) {
		switch {
		case r.Type == "run.started" && r.Data.Runbook == name:
			tr := r.Data.Origin.Trigger
			if tr == nil || tr.Kind != "schedule" || tr.Name != name || tr.Slot.IsZero() {
				t.Fatalf("run %s of %s has no schedule slot: %+v", r.RunID, name, r.Data.Origin)
			}
			at(tr.Slot).fired++
		case r.Type == "change.recorded" && r.Data.Change.Kind == "schedule.skipped" && r.Data.Change.Subject == name:
			slot, err := time.Parse(time.RFC3339, r.Data.Change.Details["slot"].(string))
			if err != nil {
				t.Fatal(err)
			}
			s := at(slot)
			s.skipped = append(s.skipped, r.Data.Change.Details["reason"].(string))
		}
	}
	return out
}

var firedRe = regexp.MustCompile(`msg="schedule: fired" schedule=tick slot=(\S+)`)

// waitFires waits until s logged n fires of the schedule tick, and
// returns the slots it fired.
func (s *serveProc) waitFires(t *testing.T, n int) []string {
	t.Helper()
	s.waitLog(t, `(?s)(msg="schedule: fired" schedule=tick .*){`+strconv.Itoa(n)+`}`)
	var slots []string
	for _, m := range firedRe.FindAllStringSubmatch(s.log.String(), -1) {
		slots = append(slots, m[1])
	}
	return slots
}

const secondlyRunbook = `version: 1
name: tick
schedule:
  - cron: "* * * * * *"
    catchup: %s
steps:
  - id: hello
    action: core.log
    with: {message: tick}
`

var catchingUpRe = regexp.MustCompile(`msg="schedule: catching up" schedule=tick since=(\S+) missed=(\d+)`)

// TestServeAcceptanceSchedule: a schedule firing every second fires each
// slot once across a restart in the middle (a slot missed during the
// restart is fired or recorded as skipped, never both, never twice);
// after a 5 s stop it catches up as its policy says: catchup latest fires
// the newest missed slot and records the others as skipped, catchup all
// fires every missed slot up to schedules.catchup_max and records the
// older ones as skipped.
func TestServeAcceptanceSchedule(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [runbooks]\nschedules: {catchup_max: 3}\n")
	rb := filepath.Join(dir, "runbooks", "tick.yaml")
	writeFile(t, rb, strings.Replace(secondlyRunbook, "%s", "latest", 1))

	first := startServe(t, dir, home)
	first.waitFires(t, 3)
	if code := first.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, first.log.String())
	}
	second := startServe(t, dir, home)
	second.waitFires(t, 3)
	if code := second.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, second.log.String())
	}
	// Every second from the first slot to the last is handled exactly
	// once: fired once, or recorded once as skipped.
	slots := slotOutcomes(t, dir, home, "tick")
	checkEverySlotOnce(t, slots)
	fired := 0
	for _, o := range slots {
		fired += o.fired
	}
	if fired < 6 {
		t.Fatalf("%d slots fired, want the 6 the two servers logged at least", fired)
	}

	// A 5 s stop, catchup latest: the newest missed slot fires, the
	// others are skipped as catchup latest says.
	time.Sleep(5 * time.Second) // the downtime itself, not an assertion
	third := startServe(t, dir, home)
	third.waitLog(t, catchingUpRe.String())
	third.waitFires(t, 1)
	if code := third.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, third.log.String())
	}
	missed := caughtUp(t, third, dir, home, slots)
	if len(missed) < 5 {
		t.Fatalf("%d slots missed after a 5 s stop, want 5 at least:\n%s", len(missed), third.log.String())
	}
	for i, o := range missed {
		want := slotOutcome{skipped: []string{"missed: catchup is latest, a later slot fires"}}
		if i == len(missed)-1 {
			want = slotOutcome{fired: 1}
		}
		if !sameOutcome(*o, want) {
			t.Errorf("missed slot %d of %d: %+v, want %+v", i+1, len(missed), *o, want)
		}
	}

	// catchup all, capped at 3 by steward.yaml: the 3 newest missed
	// slots fire, the older ones are skipped as the cap says.
	slots = slotOutcomes(t, dir, home, "tick")
	writeFile(t, rb, strings.Replace(secondlyRunbook, "%s", "all", 1))
	time.Sleep(5 * time.Second)
	fourth := startServe(t, dir, home)
	fourth.waitLog(t, catchingUpRe.String())
	fourth.waitFires(t, 3)
	if code := fourth.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, fourth.log.String())
	}
	missed = caughtUp(t, fourth, dir, home, slots)
	if len(missed) < 5 {
		t.Fatalf("%d slots missed after a 5 s stop, want 5 at least:\n%s", len(missed), fourth.log.String())
	}
	for i, o := range missed {
		want := slotOutcome{skipped: []string{"missed: catchup fires at most 3 slots (schedules.catchup_max)"}}
		if i >= len(missed)-3 {
			want = slotOutcome{fired: 1}
		}
		if !sameOutcome(*o, want) {
			t.Errorf("missed slot %d of %d: %+v, want %+v", i+1, len(missed), *o, want)
		}
	}
	checkEverySlotOnce(t, slotOutcomes(t, dir, home, "tick"))

	// steward schedules shows the last outcome: the run of the newest
	// slot and its status as the journal has it. That is succeeded, or
	// interrupted when the slot fired as the server stopped (the run is
	// then left for the next start): the schedule fires every second, so
	// the test cannot stop the server between two slots.
	r := homeRun(t, dir, home, nil, "schedules")
	wantCode(t, r, exitOK, "steward schedules")
	m := regexp.MustCompile(`(?m)^tick +\* \* \* \* \* \* +UTC +active +\S+ \S+ +\S+ \S+ +(\S+) +(\S+)\s*$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("steward schedules:\n%s", r.stdout)
	}
	if st := showRun(t, dir, home, m[1]).Run.Status; st != m[2] || (st != "succeeded" && st != "interrupted") {
		t.Errorf("steward schedules shows run %s %s; show says %s:\n%s", m[1], m[2], st, r.stdout)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

// caughtUp returns the outcomes of the slots the catch-up logged by srv
// handled, oldest first: the seconds after the since= it logged, the
// missed= it logged, as read from the journal; before holds the slots
// recorded before srv started, which it must not have touched.
func caughtUp(t *testing.T, srv *serveProc, dir, home string, before map[time.Time]*slotOutcome) []*slotOutcome {
	t.Helper()
	m := catchingUpRe.FindStringSubmatch(srv.log.String())
	since, err := time.Parse(time.RFC3339, m[1])
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(m[2])
	after := slotOutcomes(t, dir, home, "tick")
	for slot, o := range before {
		if !sameOutcome(*o, *after[slot]) {
			t.Errorf("slot %s was handled again: %+v, then %+v", slot, *o, *after[slot])
		}
	}
	var out []*slotOutcome
	for i := 1; i <= n; i++ {
		o := after[since.Add(time.Duration(i)*time.Second)]
		if o == nil {
			t.Fatalf("missed slot %s is not in the journal", since.Add(time.Duration(i)*time.Second))
		}
		out = append(out, o)
	}
	return out
}

// checkEverySlotOnce checks that every second between the first and the
// last slot recorded was fired once or skipped once, and not both.
func checkEverySlotOnce(t *testing.T, slots map[time.Time]*slotOutcome) {
	t.Helper()
	var first, last time.Time
	for s := range slots {
		if first.IsZero() || s.Before(first) {
			first = s
		}
		if s.After(last) {
			last = s
		}
	}
	for s := first; !s.After(last); s = s.Add(time.Second) {
		o := slots[s]
		if o == nil || o.fired+len(o.skipped) != 1 {
			t.Errorf("slot %s: %+v, want fired once or skipped once", s, o)
		}
	}
	if len(slots) != int(last.Sub(first)/time.Second)+1 {
		t.Errorf("%d slots recorded between %s and %s", len(slots), first, last)
	}
}

func sameOutcome(a, b slotOutcome) bool {
	return a.fired == b.fired && strings.Join(a.skipped, "\n") == strings.Join(b.skipped, "\n")
}

// apiCall makes one request to srv with token, and returns the status
// and the body.
func apiCall(t *testing.T, srv *serveProc, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// createToken makes a token with steward tokens create and returns it.
func createToken(t *testing.T, dir, home, name, role string) string {
	t.Helper()
	r := homeRun(t, dir, home, nil, "tokens", "create", name, "--role", role)
	wantCode(t, r, exitOK, "tokens create "+name)
	return strings.TrimSpace(r.stdout)
}

const refundAskRunbook = `version: 1
name: ask
inputs:
  amount: {type: integer, required: true}
steps:
  - id: check
    action: core.set
    with: {amount: '${{ inputs.amount }}'}
  - id: refund
    approval:
      message: Refund ${{ inputs.amount }}?
    action: core.set
    with: {refunded: true}
`

const ticketRunbook = `version: 1
name: ticket
inputs:
  ticket: {type: string, required: true}
steps:
  - id: note
    action: core.log
    with: {message: '${{ inputs.ticket }}'}
`

const acceptanceConfig = `runbooks: [runbooks]
webhooks:
  - name: zendesk-ticket
    runbook: ticket
    verify: zendesk
    secret: {secret: ZD_HOOK}
    inputs:
      ticket: 'zd-${{ payload.ticket.id }}'
    dedupe: '${{ payload.ticket.id }}'
`

// TestServeAcceptanceAPIAndWebhook: a run started over the API with an
// operator's token waits for an approval; its starter's token (an
// approver: past the role check) is refused under four eyes, a viewer's
// lacks the role, an approver's decides it, and the run succeeds with the
// approver's subject in its journal. A Zendesk-signed webhook (the
// signature as Zendesk documents it: base64 HMAC-SHA256 of the timestamp
// header's value and the body; Zendesk itself is not reachable here) sent
// twice starts one run; a tampered one gets 401 and starts none. The
// journal verifies.
func TestServeAcceptanceAPIAndWebhook(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), acceptanceConfig)
	writeFile(t, filepath.Join(dir, "runbooks", "ask.yaml"), refundAskRunbook)
	writeFile(t, filepath.Join(dir, "runbooks", "ticket.yaml"), ticketRunbook)
	starter := createToken(t, dir, home, "sam", "approver")
	viewer := createToken(t, dir, home, "vic", "viewer")
	approver := createToken(t, dir, home, "ana", "approver")
	const secret = "zendesk-signing-secret"
	t.Setenv("STEWARD_SECRET_ZD_HOOK", secret)
	srv := startServe(t, dir, home)

	code, body := apiCall(t, srv, starter, "POST", "/api/v1/runs", `{"runbook": "ask", "inputs": {"amount": 30}}`)
	if code != http.StatusAccepted {
		t.Fatalf("start: %d %s", code, body)
	}
	var started struct{ ID, Status string }
	if err := json.Unmarshal([]byte(body), &started); err != nil || started.ID == "" {
		t.Fatalf("start: %v %s", err, body)
	}
	id := started.ID
	status := func() string {
		code, body := apiCall(t, srv, viewer, "GET", "/api/v1/runs/"+id, "")
		if code != http.StatusOK {
			t.Fatalf("get: %d %s", code, body)
		}
		var d timeline
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		return d.Run.Status
	}
	waitStatus := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline) && status() != want; {
			time.Sleep(10 * time.Millisecond)
		}
		if got := status(); got != want {
			t.Fatalf("run %s is %s, want %s\n%s", id, got, want, srv.log.String())
		}
	}
	waitStatus("waiting")

	approve := `{"step": "refund", "comment": "checked"}`
	for _, c := range []struct {
		who, token string
		code       int
		problem    string
	}{
		{"the starter", starter, http.StatusForbidden, "urn:steward:problem:refused"},
		{"a viewer", viewer, http.StatusForbidden, "urn:steward:problem:forbidden"},
	} {
		code, body := apiCall(t, srv, c.token, "POST", "/api/v1/runs/"+id+"/approve", approve)
		if code != c.code || !strings.Contains(body, `"type":"`+c.problem+`"`) {
			t.Errorf("approve by %s: %d %s, want %d %s", c.who, code, body, c.code, c.problem)
		}
	}
	if got := status(); got != "waiting" {
		t.Fatalf("after the refusals the run is %s", got)
	}
	code, body = apiCall(t, srv, approver, "POST", "/api/v1/runs/"+id+"/approve", approve)
	if code != http.StatusOK || !strings.Contains(body, `"by":"ana"`) || !strings.Contains(body, `"approved":true`) {
		t.Fatalf("approve by an approver: %d %s", code, body)
	}
	waitStatus("succeeded")

	// The webhook: the same event twice starts one run; a tampered body
	// none.
	payload := `{"ticket": {"id": 4711, "subject": "card declined"}}`
	send := func(body, signedBody string) (int, string) {
		ts := time.Now().UTC().Format(time.RFC3339)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + signedBody))
		req, err := http.NewRequest("POST", "http://"+srv.addr+"/hooks/zendesk-ticket", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		req.Header.Set("X-Zendesk-Webhook-Signature-Timestamp", ts)
		return do(t, req)
	}
	type hookAnswer struct {
		RunID     string `json:"run_id"`
		Runbook   string `json:"runbook"`
		Duplicate bool   `json:"duplicate"`
	}
	var answers []hookAnswer
	for i, want := range []int{http.StatusAccepted, http.StatusOK} {
		code, body := send(payload, payload)
		var a hookAnswer
		if err := json.Unmarshal([]byte(body), &a); code != want || err != nil {
			t.Fatalf("delivery %d: %d %s, want %d", i+1, code, body, want)
		}
		answers = append(answers, a)
	}
	if a := answers[0]; a.RunID == "" || a.Runbook != "ticket" || a.Duplicate ||
		answers[1] != (hookAnswer{RunID: a.RunID, Runbook: "ticket", Duplicate: true}) {
		t.Fatalf("answers %+v", answers)
	}
	tampered := strings.Replace(payload, "4711", "4712", 1)
	if code, body := send(tampered, payload); code != http.StatusUnauthorized || !strings.Contains(body, "urn:steward:problem:unverified") {
		t.Fatalf("tampered: %d %s", code, body)
	}
	hookRun := answers[0].RunID
	waitFor(t, "the webhook's run to succeed", func() bool { return showRun(t, dir, home, hookRun).Run.Status == "succeeded" })
	if code := srv.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, srv.log.String())
	}

	// The journal: who started, who approved, one webhook run.
	var startedBy []string
	var decided []record
	tickets := 0
	for _, r := range journalRecords(t, dir, home) {
		switch {
		case r.Type == "run.started" && r.RunID == id:
			startedBy = append(startedBy, r.Data.Actor)
		case r.Type == "approval.decided" && r.RunID == id:
			decided = append(decided, r)
		case r.Type == "run.started" && r.Data.Runbook == "ticket":
			tickets++
			if r.RunID != hookRun || r.Data.Actor != "webhook:zendesk-ticket" || r.Data.Origin.Trigger.Key != "hook/zendesk-ticket/4711" {
				t.Errorf("webhook run %s by %s, trigger %+v", r.RunID, r.Data.Actor, r.Data.Origin.Trigger)
			}
		}
	}
	if len(startedBy) != 1 || startedBy[0] != "sam" {
		t.Errorf("run.started by %v, want [sam]", startedBy)
	}
	if len(decided) != 1 || decided[0].Data.By != "ana" || decided[0].Data.Step != "refund" {
		t.Errorf("approvals %+v, want one by ana", decided)
	}
	if tickets != 1 {
		t.Errorf("%d runs of ticket, want 1", tickets)
	}
	if d := showRun(t, dir, home, hookRun); d.Run.Status != "succeeded" {
		t.Errorf("the webhook's run is %s", d.Run.Status)
	}
	if n := strings.Count(srv.log.String(), `msg="webhook refused: verification failed"`); n != 1 {
		t.Errorf("%d refused deliveries logged, want 1:\n%s", n, srv.log.String())
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

// TestServeSIGTERMDuringStart: SIGTERM sent the moment steward serve
// writes its first line (its scheduler starting, before it listens) is a
// graceful shutdown, as at any later time: exit 0 after "stopped", never
// death by the signal. (The acceptance schedule test found a SIGTERM
// just after "listening" killing the server: the handler was installed
// after start-up.)
func TestServeSIGTERMDuringStart(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "tick.yaml"), strings.Replace(secondlyRunbook, "%s", "latest", 1))
	for i := range 5 {
		cmd := exec.Command(steward, "--home", home, "serve", "--listen", "127.0.0.1:0")
		cmd.Dir = dir
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stderr)
		first, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(r)
		err = cmd.Wait()
		log := first + string(rest)
		if err != nil || !strings.Contains(log, "msg=stopped") {
			t.Fatalf("start %d: SIGTERM after the first line: %v\n%s", i+1, err, log)
		}
	}
}
