package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
)

// Several steward serve replicas on one PostgreSQL schema (servepg.go,
// docs/postgres.md), as real processes.

// startReplica starts steward serve with home and the extra environment
// (STEWARD_DATABASE_URL), on a free port, and returns once it listens.
func startReplica(t testing.TB, dir, home string, env []string) *serveProc {
	t.Helper()
	cmd := exec.Command(steward, "--home", home, "serve", "--listen", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	s := &serveProc{cmd: cmd, log: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); {
		if m := listeningRe.FindStringSubmatch(s.log.String()); m != nil {
			s.addr = m[1]
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("steward serve does not listen:\n%s", s.log.String())
	return nil
}

var leaderRe = regexp.MustCompile(`msg="this process is now the leader"|msg="no longer the leader`)

// leads says whether the replica's log says it leads the scheduler now.
func (s *serveProc) leads() bool {
	all := leaderRe.FindAllString(s.log.String(), -1)
	return len(all) > 0 && strings.Contains(all[len(all)-1], "now the leader")
}

// leader waits until one of the replicas leads, and returns it; it
// fails the test when none does within waitLimit (a stuck election).
func leader(t *testing.T, replicas []*serveProc) *serveProc {
	t.Helper()
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); {
		for _, r := range replicas {
			if r.leads() {
				return r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no replica leads the scheduler")
	return nil
}

// kill kills the replica with SIGKILL and waits for it to be gone.
func (s *serveProc) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

// exported is a record of steward audit export, as these tests read it.
type exported struct {
	RunID string `json:"run_id"`
	Type  string
	Data  struct {
		Runbook string
		Step    string
		Attempt int
		Status  string
		Origin  *struct {
			PID     int
			Trigger *struct{ Name, Slot string }
		}
	}
}

// exportAll returns every record of the journal, in order.
func exportAll(t *testing.T, dir, home string, env []string) []exported {
	t.Helper()
	r := homeRun(t, dir, home, env, "audit", "export")
	wantCode(t, r, exitOK, "audit export")
	var out []exported
	for line := range strings.SplitSeq(strings.TrimSpace(r.stdout), "\n") {
		var rec exported
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit export: %v: %s", err, line)
		}
		out = append(out, rec)
	}
	return out
}

// TestReplicasSchedulerFailover: three replicas on one PostgreSQL
// schema and a schedule of every second (catchup: all). The leader is
// killed (SIGKILL) twice in 30 s; another replica leads each time. Every
// second from the first slot fired to the last is fired exactly once:
// no slot is fired twice (a slot's key is unique), none is skipped (the
// new leader goes on from the latest slot recorded, and catchup: all
// fires the few the dead leader missed), and each of the three leaders
// fired some; audit verify passes.
//
// The kills and the stop happen no earlier than 8 s, 18 s and 30 s
// after the start, and each only once its leader fired a slot: on a
// loaded machine an election may take seconds, and a leader killed, or
// stopped, before its first fire would fail the test for nothing.
// catchup_max is far above any such delay, for the same reason: with
// the default 10, a takeover slower than 10 s would skip slots.
func TestReplicasSchedulerFailover(t *testing.T) {
	dir := t.TempDir()
	env := []string{"STEWARD_DATABASE_URL=" + pgtest.URL(t)}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [books]\nschedules: {catchup_max: 1000}\n")
	writeFile(t, filepath.Join(dir, "books", "tick.yaml"), `version: 1
name: tick
schedule:
  - cron: "* * * * * *"
    catchup: all
    overlap: allow
steps:
  - id: hello
    action: core.log
    with: {message: tick}
`)
	var replicas []*serveProc
	for range 3 {
		replicas = append(replicas, startReplica(t, dir, t.TempDir(), env))
	}
	began := time.Now()
	alive := replicas
	var killed []int
	for _, at := range []time.Duration{8 * time.Second, 18 * time.Second} {
		time.Sleep(time.Until(began.Add(at)))
		l := leader(t, alive)
		l.waitLog(t, `msg="schedule: fired" schedule=tick`)
		l.kill(t)
		killed = append(killed, l.cmd.Process.Pid)
		var rest []*serveProc
		for _, r := range alive {
			if r != l {
				rest = append(rest, r)
			}
		}
		alive = rest
	}
	last := leader(t, alive)
	time.Sleep(time.Until(began.Add(30 * time.Second)))
	last.waitLog(t, `msg="schedule: fired" schedule=tick`)
	for _, r := range alive {
		if code := r.stop(t); code != 0 {
			t.Fatalf("a replica exited %d on SIGTERM:\n%s", code, r.log.String())
		}
	}

	fires := map[string]int{}
	by := map[int]bool{}
	for _, rec := range exportAll(t, dir, t.TempDir(), env) {
		o := rec.Data.Origin
		if rec.Type != "run.started" || o == nil || o.Trigger == nil || o.Trigger.Name != "tick" {
			continue
		}
		if rec.Data.Runbook != "tick" {
			t.Errorf("slot %s was recorded as %s (a skipped slot): want every slot fired", o.Trigger.Slot, rec.Data.Runbook)
			continue
		}
		fires[o.Trigger.Slot]++
		by[o.PID] = true
	}
	var slots []string
	for s, n := range fires {
		slots = append(slots, s)
		if n != 1 {
			t.Errorf("slot %s fired %d times", s, n)
		}
	}
	sort.Strings(slots)
	// Not a count of slots in 30 s of wall time (a loaded machine starts
	// the first leader late): that every leader fired some, below, and
	// that no slot between the first and the last is missing.
	if len(slots) < len(killed)+1 {
		t.Fatalf("%d slots fired: %v", len(slots), slots)
	}
	first, err := time.Parse(time.RFC3339, slots[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range slots {
		if want := first.Add(time.Duration(i) * time.Second).UTC().Format(time.RFC3339); s != want {
			t.Fatalf("slot %s is missing: fired %v", want, slots)
		}
	}
	for _, pid := range append(killed, last.cmd.Process.Pid) {
		if !by[pid] {
			t.Errorf("leader %d fired no slot; fired by %v", pid, by)
		}
	}
	r := homeRun(t, dir, t.TempDir(), env, "audit", "verify")
	wantCode(t, r, exitOK, "audit verify")
}

// apiPost posts body to the replica's API with the bearer token, and
// returns the status and the answer.
func (s *serveProc) apiPost(t *testing.T, token, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
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

// startOver starts a run of runbook over the replica's API and returns
// its id.
func (s *serveProc) startOver(t *testing.T, token, runbook string) string {
	t.Helper()
	code, body := s.apiPost(t, token, "/runs", `{"runbook":"`+runbook+`"}`)
	var started struct{ ID string }
	if err := json.Unmarshal([]byte(body), &started); code != http.StatusAccepted || err != nil || started.ID == "" {
		t.Fatalf("POST /runs %s: %d %s", runbook, code, body)
	}
	return started.ID
}

// attempts counts the run's attempts of each step: its step.started
// records with an attempt, and its attempt.started records (a step that
// waited for an approval starts its attempts so).
func attempts(recs []exported, run string) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		if r.RunID == run && (r.Type == "step.started" || r.Type == "attempt.started") && r.Data.Attempt > 0 {
			n[r.Data.Step]++
		}
	}
	return n
}

// finished counts the run's step.finished records of each step with
// the status.
func finished(recs []exported, run, status string) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		if r.RunID == run && r.Type == "step.finished" && r.Data.Status == status {
			n[r.Data.Step]++
		}
	}
	return n
}

// TestReplicasTakeOverADeadReplicasRuns: two replicas on one PostgreSQL
// schema; two runs started over replica A's API are executing when A is
// killed (SIGKILL). Replica B takes both over once their leases expire,
// by the usual rules: the run whose interrupted step does not mutate
// finishes (its finished step is not run again), the one interrupted
// during an attempt of a mutating action waits for a person (its step
// is not run again); audit verify passes.
//
// The interrupted steps last until the test ends them, so that A dies
// during them however slow the machine (with a 3 s sleep, a slow poll
// of the journal let them end first): nap's is a GET (which does not
// mutate) that the test's server answers only from its second request
// on (B's attempt), and mutate's a program that sleeps for an hour and
// that the test kills once A is dead (heldMutation).
func TestReplicasTakeOverADeadReplicasRuns(t *testing.T) {
	dir := t.TempDir()
	env := []string{"STEWARD_DATABASE_URL=" + pgtest.URL(t)}
	gets := newHeldGets(t)
	gets.let(2) // B's attempt
	change := newHeldMutation(t)
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [runbooks]\n")
	writeFile(t, filepath.Join(dir, "runbooks", "nap.yaml"), heldNapRunbook(gets))
	writeFile(t, filepath.Join(dir, "runbooks", "mutate.yaml"), change.runbook())
	r := homeRun(t, dir, t.TempDir(), env, "tokens", "create", "ops", "--role", "operator")
	wantCode(t, r, exitOK, "tokens create")
	token := strings.TrimSpace(r.stdout)

	a := startReplica(t, dir, t.TempDir(), env)
	b := startReplica(t, dir, t.TempDir(), env)
	nap, mutate := a.startOver(t, token, "nap"), a.startOver(t, token, "mutate")
	gets.wait(t, 1)
	waitFor(t, "the runs to reach their interrupted steps", func() bool {
		recs := exportAll(t, dir, t.TempDir(), env)
		return change.pid() > 0 && attempts(recs, nap)["nap"] == 1 && attempts(recs, mutate)["change"] == 1
	})
	a.kill(t)
	change.kill(t)

	b.waitLog(t, `a resumed run went on" run=`+nap+` status=succeeded`)
	b.waitLog(t, `a resumed run went on" run=`+mutate+` status=waiting`)
	recs := exportAll(t, dir, t.TempDir(), env)
	if got := finished(recs, nap, "succeeded"); got["hello"] != 1 || got["nap"] != 1 || got["done"] != 1 {
		t.Errorf("nap's steps succeeded %v; want each once", got)
	}
	if got := attempts(recs, nap); got["hello"] != 1 || got["nap"] != 2 || got["done"] != 1 {
		t.Errorf("nap's attempts %v; want hello and done once, nap twice (interrupted, it does not mutate)", got)
	}
	if got := attempts(recs, mutate); got["change"] != 1 {
		t.Errorf("the interrupted mutation was attempted %d times; want once", got["change"])
	}
	if n := gets.count.Load(); n != 2 {
		t.Errorf("nap's GET came %d times; want twice (A's attempt, B's)", n)
	}
	if got := homeRun(t, dir, t.TempDir(), env, "show", mutate).stdout; !strings.Contains(got, "interrupted during attempt 1 of exec") {
		t.Errorf("show %s:\n%s", mutate, got)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, b.log.String())
	}
	wantCode(t, homeRun(t, dir, t.TempDir(), env, "audit", "verify"), exitOK, "audit verify")
}

const askRunbook = `version: 1
name: ask
steps:
  - id: ok
    approval: {message: "Go?", approvers: [carla]}
    action: core.set
    with: {done: true}
`

// sseEvent is an event of a run's stream as a client received it.
type sseEvent struct {
	typ      string
	recorded time.Time // the record's time
	received time.Time
}

// follow reads the run's event stream on the replica until it ends,
// sending each event to events, then closes it.
func (s *serveProc) follow(t *testing.T, token, id string, events chan<- sseEvent) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.addr+"/api/v1/runs/"+id+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET events: %d", res.StatusCode)
	}
	go func() {
		defer close(events)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct{ Type, Time string }
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				continue
			}
			at, _ := time.Parse(time.RFC3339Nano, ev.Time)
			events <- sseEvent{typ: ev.Type, recorded: at, received: time.Now()}
		}
	}()
}

// TestReplicasSignals: what one replica is asked reaches the replica
// that executes the run. A run executing on replica A is followed over
// replica B's event stream and cancelled over B's API: A stops it (its
// next step never starts) and B's cancel answers with the run
// cancelled. A run waiting on A is approved over B's API: it goes on
// (on B) and its step runs once. The delays measured are logged
// (go test -v): the cancel's round trip and the events' delay on B.
// The nap lasts an hour: the cancel reaches it while it runs however
// slow the machine (with 3 s, the events' way over B and the cancel's
// way to A raced its end under load).
func TestReplicasSignals(t *testing.T) {
	dir := t.TempDir()
	env := []string{"STEWARD_DATABASE_URL=" + pgtest.URL(t)}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [runbooks]\n")
	writeFile(t, filepath.Join(dir, "runbooks", "nap.yaml"), strings.Replace(napRunbook, "{duration: 3s}", "{duration: 1h}", 1))
	writeFile(t, filepath.Join(dir, "runbooks", "ask.yaml"), askRunbook)
	token := func(name, role string) string {
		r := homeRun(t, dir, t.TempDir(), env, "tokens", "create", name, "--subject", name, "--role", role)
		wantCode(t, r, exitOK, "tokens create")
		return strings.TrimSpace(r.stdout)
	}
	ana, carla := token("ana", "operator"), token("carla", "approver")
	a := startReplica(t, dir, t.TempDir(), env)
	b := startReplica(t, dir, t.TempDir(), env)

	nap := a.startOver(t, ana, "nap")
	events := make(chan sseEvent, 100)
	b.follow(t, ana, nap, events)
	var got []sseEvent
	for ev := range events {
		got = append(got, ev)
		if ev.typ == "step.started" && len(got) > 2 {
			break // nap's (hello's is the first)
		}
	}
	began := time.Now()
	code, body := b.apiPost(t, ana, "/runs/"+nap+"/cancel", `{"comment":"wrong customer"}`)
	took := time.Since(began)
	if code != http.StatusOK || !strings.Contains(body, `"status":"cancelled"`) {
		t.Fatalf("POST cancel on B: %d %s\nA:\n%s", code, body, a.log.String())
	}
	for ev := range events {
		got = append(got, ev)
	}
	var worst time.Duration
	for _, ev := range got {
		worst = max(worst, ev.received.Sub(ev.recorded))
	}
	t.Logf("cancel over B of a run executing on A: answered in %s; %d events over B, the slowest %s after it was recorded", took, len(got), worst)
	if last := got[len(got)-1]; last.typ != "run.finished" {
		t.Errorf("B's stream ended with %s; want run.finished", last.typ)
	}
	recs := exportAll(t, dir, t.TempDir(), env)
	if n := attempts(recs, nap)["done"]; n != 0 {
		t.Errorf("a step started after the cancel")
	}

	ask := a.startOver(t, ana, "ask")
	waitStatus(t, dir, env, ask, "waiting")
	code, body = b.apiPost(t, carla, "/runs/"+ask+"/approve", `{"step":"ok","comment":"checked"}`)
	if code != http.StatusOK {
		t.Fatalf("POST approve on B: %d %s", code, body)
	}
	waitStatus(t, dir, env, ask, "succeeded")
	recs = exportAll(t, dir, t.TempDir(), env)
	if n, s := attempts(recs, ask)["ok"], finished(recs, ask, "succeeded")["ok"]; n != 1 || s != 1 {
		t.Errorf("the approved step was attempted %d times and succeeded %d times; want once:\n%s", n, s, homeRun(t, dir, t.TempDir(), env, "audit", "export", "--run", ask).stdout)
	}
	for _, r := range []*serveProc{a, b} {
		if code := r.stop(t); code != 0 {
			t.Fatalf("exit %d:\n%s", code, r.log.String())
		}
	}
	wantCode(t, homeRun(t, dir, t.TempDir(), env, "audit", "verify"), exitOK, "audit verify")
}

// waitStatus waits (at most waitLimit) until the run's status is status.
func waitStatus(t *testing.T, dir string, env []string, id, status string) {
	t.Helper()
	var d timeline
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); {
		r := homeRun(t, dir, t.TempDir(), env, "show", id, "-o", "json")
		if err := json.Unmarshal([]byte(r.stdout), &d); err == nil && d.Run.Status == status {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %s is %s; want %s", id, d.Run.Status, status)
}
