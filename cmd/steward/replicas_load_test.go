package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
)

// What a load client does with a run it starts, and how the run ends.
type loadKind int

const (
	loadOne           loadKind = iota // one core.set step: succeeded
	loadApprove                       // ask, approved over another replica: succeeded
	loadCancelWaiting                 // ask, cancelled while waiting over another replica: cancelled
	loadCancelRunning                 // long, cancelled while it sleeps over another replica: cancelled
	loadLeaveWaiting                  // ask, left alone: waiting
)

var loadKinds = []loadKind{loadOne, loadApprove, loadOne, loadCancelWaiting, loadCancelRunning, loadLeaveWaiting}

func (k loadKind) String() string {
	return [...]string{"one", "approve", "cancel-waiting", "cancel-running", "leave-waiting"}[k]
}

// runbook is the runbook the kind starts; status how its run ends.
func (k loadKind) runbook() string {
	return [...]string{"one", "ask", "ask", "long", "ask"}[k]
}

func (k loadKind) status() string {
	return [...]string{"succeeded", "succeeded", "cancelled", "cancelled", "waiting"}[k]
}

// tokenRunbook is the runbook of the runs recording steward tokens
// create: the test's two tokens are listed with the runs.
const tokenRunbook = "steward.token"

const longRunbook = `version: 1
name: long
steps:
  - id: hello
    action: core.log
    with: {message: hello}
  - id: nap
    action: core.sleep
    with: {duration: 10m}
  - id: done
    action: core.set
    with: {done: true}
`

// loadClient sends the load's requests and counts their answers.
type loadClient struct {
	http      *http.Client
	replicas  []*serveProc
	serverErr atomic.Int64 // answers 5xx
	requests  atomic.Int64
}

// do sends a request to the replica with the token and returns the
// status and the answer.
func (c *loadClient) do(method string, r *serveProc, token, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, "http://"+r.addr+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	c.requests.Add(1)
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		c.serverErr.Add(1)
	}
	return res.StatusCode, b, err
}

// waitStatusOver waits (at most waitLimit) until the run's status, read
// over the replica's API, is status.
func (c *loadClient) waitStatusOver(r *serveProc, token, id, status string) error {
	var last string
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); {
		code, body, err := c.do(http.MethodGet, r, token, "/runs/"+id, "")
		if err != nil {
			return err
		}
		var d struct{ Run struct{ Status string } }
		if code == http.StatusOK && json.Unmarshal(body, &d) == nil {
			if last = d.Run.Status; last == status {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("run %s is %s over %s; want %s", id, last, r.addr, status)
}

// listOver returns every run, read over the replica's API a page of 100
// at a time.
func (c *loadClient) listOver(t *testing.T, r *serveProc, token, query string) (map[string]string, int) {
	t.Helper()
	got, pages := map[string]string{}, 0
	cursor := ""
	for {
		code, body, err := c.do(http.MethodGet, r, token, "/runs?limit=100&"+query+"&cursor="+url.QueryEscape(cursor), "")
		var l struct {
			Runs []struct {
				ID, Runbook, Status string
			}
			NextCursor string `json:"next_cursor"`
		}
		if err != nil || code != http.StatusOK || json.Unmarshal(body, &l) != nil {
			t.Fatalf("GET /runs: %d %v %s", code, err, body)
		}
		pages++
		for _, run := range l.Runs {
			if run.Runbook == tokenRunbook {
				run.ID = tokenRunbook + "/" + run.ID
			}
			if _, dup := got[run.ID]; dup {
				t.Errorf("run %s is listed twice", run.ID)
			}
			got[run.ID] = run.Status
		}
		if cursor = l.NextCursor; cursor == "" {
			return got, pages
		}
	}
}

// TestReplicasLoad: three replicas on one PostgreSQL schema; four API
// clients start runs for 30 s, round robin over the replicas, of a
// one-step runbook, of a runbook waiting for an approval (approved,
// cancelled or left waiting) and of a long one (cancelled while it
// sleeps), each approval and cancel sent to another replica than the one
// that accepted the run. Afterwards the journal holds exactly the runs
// accepted (202 with an id), listed by every replica's API with paging
// and by steward runs, each with the status its kind ends with (none
// left running); each accepted run is in the audit export, no step was
// attempted twice, and audit verify passes. No request is answered 5xx.
// The requests, runs/s and duration are logged (go test -v).
func TestReplicasLoad(t *testing.T) {
	dir := t.TempDir()
	env := []string{"STEWARD_DATABASE_URL=" + pgtest.URL(t)}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [runbooks]\n")
	writeFile(t, filepath.Join(dir, "runbooks", "one.yaml"), "version: 1\nname: one\nsteps:\n  - {id: s1, action: core.set, with: {n: 1}}\n")
	writeFile(t, filepath.Join(dir, "runbooks", "ask.yaml"), askRunbook)
	writeFile(t, filepath.Join(dir, "runbooks", "long.yaml"), longRunbook)
	token := func(name, role string) string {
		r := homeRun(t, dir, t.TempDir(), env, "tokens", "create", name, "--subject", name, "--role", role)
		wantCode(t, r, exitOK, "tokens create")
		return strings.TrimSpace(r.stdout)
	}
	ana, carla := token("ana", "operator"), token("carla", "approver")
	c := &loadClient{http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	for range 3 {
		c.replicas = append(c.replicas, startReplica(t, dir, t.TempDir(), env))
	}

	const clients, duration = 4, 30 * time.Second
	var (
		mu       sync.Mutex
		accepted = map[string]loadKind{}
		refused  int // start requests not answered 202
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	// one starts a run of the kind over replica at and does with it what
	// the kind says, over the next replica.
	one := func(k loadKind, at int) error {
		r, other := c.replicas[at%3], c.replicas[(at+1)%3]
		code, body, err := c.do(http.MethodPost, r, ana, "/runs", `{"runbook":"`+k.runbook()+`"}`)
		if err != nil {
			return err
		}
		var started struct{ ID string }
		if code != http.StatusAccepted || json.Unmarshal(body, &started) != nil || started.ID == "" {
			mu.Lock()
			refused++
			mu.Unlock()
			return fmt.Errorf("POST /runs %s over %s: %d %s", k.runbook(), r.addr, code, body)
		}
		id := started.ID
		mu.Lock()
		accepted[id] = k
		mu.Unlock()
		switch k {
		case loadApprove, loadCancelWaiting:
			if err := c.waitStatusOver(other, ana, id, "waiting"); err != nil {
				return err
			}
		}
		switch k {
		case loadApprove:
			code, body, err = c.do(http.MethodPost, other, carla, "/runs/"+id+"/approve", `{"step":"ok","comment":"load"}`)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("approve %s over %s: %d %s", id, other.addr, code, body)
			}
		case loadCancelWaiting, loadCancelRunning:
			code, body, err = c.do(http.MethodPost, other, ana, "/runs/"+id+"/cancel", `{"comment":"load"}`)
			if err == nil && (code != http.StatusOK || !strings.Contains(string(body), `"status":"cancelled"`)) {
				err = fmt.Errorf("cancel %s (%s) over %s: %d %s", id, k, other.addr, code, body)
			}
		}
		return err
	}
	began := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Since(began) < duration {
				n := int(next.Add(1)) - 1
				if err := one(loadKinds[n%len(loadKinds)], n); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(began)

	want := map[string]int{}
	for _, k := range accepted {
		want[k.status()]++
	}
	// The approved runs go on after their approval was answered: wait
	// (bounded) until none is running.
	for deadline := time.Now().Add(waitLimit); ; {
		running, _ := c.listOver(t, c.replicas[0], ana, "status=running")
		if len(running) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs still running: %v", len(running), running)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d clients for %s over 3 replicas: %d runs accepted (%.1f runs/s), %d requests, %d refused, %d answered 5xx; final statuses %v",
		clients, took.Round(time.Millisecond), len(accepted), float64(len(accepted))/took.Seconds(), c.requests.Load(), refused, c.serverErr.Load(), want)
	if refused != 0 || c.serverErr.Load() != 0 {
		t.Errorf("%d start requests refused, %d requests answered 5xx; want none", refused, c.serverErr.Load())
	}
	if len(accepted) < 2*len(loadKinds) {
		t.Fatalf("only %d runs accepted in %s", len(accepted), took)
	}

	check := func(what string, got map[string]string) {
		t.Helper()
		n, tokens := map[string]int{}, 0
		for id, status := range got {
			if strings.HasPrefix(id, tokenRunbook+"/") {
				tokens++
				if status != "succeeded" {
					t.Errorf("%s: the token creation %s is %s", what, id, status)
				}
				continue
			}
			n[status]++
			k, ok := accepted[id]
			if !ok {
				t.Errorf("%s: run %s (%s) was never accepted", what, id, status)
			} else if status != k.status() {
				t.Errorf("%s: run %s (%s) is %s; want %s", what, id, k, status, k.status())
			}
		}
		for id, k := range accepted {
			if _, ok := got[id]; !ok {
				t.Errorf("%s: accepted run %s (%s) is missing", what, id, k)
			}
		}
		if fmt.Sprint(n) != fmt.Sprint(want) || len(got)-tokens != len(accepted) || tokens != 2 {
			t.Errorf("%s: %d runs %v and %d token creations; want %d %v and 2", what, len(got)-tokens, n, tokens, len(accepted), want)
		}
	}
	for _, r := range c.replicas {
		got, pages := c.listOver(t, r, ana, "")
		if wantPages := (len(accepted) + 2 + 99) / 100; pages != wantPages {
			t.Errorf("GET /runs over %s: %d pages of 100; want %d", r.addr, pages, wantPages)
		}
		check("GET /runs over "+r.addr, got)
	}
	for _, r := range c.replicas {
		if code := r.stop(t); code != 0 {
			t.Fatalf("a replica exited %d on SIGTERM:\n%s", code, r.log.String())
		}
	}

	res := homeRun(t, dir, t.TempDir(), env, "runs", "--limit", "0", "-o", "json")
	wantCode(t, res, exitOK, "runs")
	var listed []struct{ ID, Runbook, Status string }
	if err := json.Unmarshal([]byte(res.stdout), &listed); err != nil {
		t.Fatalf("runs -o json: %v", err)
	}
	got := map[string]string{}
	for _, r := range listed {
		if r.Runbook == tokenRunbook {
			r.ID = tokenRunbook + "/" + r.ID
		}
		got[r.ID] = r.Status
	}
	check("steward runs", got)

	recs := exportAll(t, dir, t.TempDir(), env)
	// Each run's run.started records, and its run.finished records by
	// status: a run that waits records a run.finished (waiting), then
	// another when it ends.
	ends := map[string]map[string]int{}
	for _, r := range recs {
		key := r.Type
		if r.Type == "run.finished" {
			key += "/" + r.Data.Status
		}
		if r.Type == "run.started" || r.Type == "run.finished" {
			if ends[r.RunID] == nil {
				ends[r.RunID] = map[string]int{}
			}
			ends[r.RunID][key]++
		}
	}
	shown := map[loadKind]bool{}
	for id, k := range accepted {
		wantEnds := map[string]int{"run.started": 1, "run.finished/" + k.status(): 1}
		if k.runbook() == "ask" {
			wantEnds["run.finished/waiting"] = 1
		}
		if fmt.Sprint(ends[id]) != fmt.Sprint(wantEnds) {
			t.Errorf("run %s (%s) has %v in the audit export; want %v", id, k, ends[id], wantEnds)
		}
		n := attempts(recs, id)
		var wantN map[string]int
		switch k {
		case loadOne:
			wantN = map[string]int{"s1": 1}
		case loadApprove:
			wantN = map[string]int{"ok": 1}
		case loadCancelWaiting, loadLeaveWaiting:
			wantN = map[string]int{}
		case loadCancelRunning: // cancelled before or during hello or nap
			wantN = map[string]int{}
			for _, s := range []string{"hello", "nap"} {
				if n[s] == 1 {
					wantN[s] = 1
				}
			}
		}
		if fmt.Sprint(n) != fmt.Sprint(wantN) {
			t.Errorf("run %s (%s): steps attempted %v; want %v", id, k, n, wantN)
		}
		if k.status() == "succeeded" {
			if s := finished(recs, id, "succeeded"); fmt.Sprint(s) != fmt.Sprint(wantN) {
				t.Errorf("run %s (%s): steps succeeded %v; want %v", id, k, s, wantN)
			}
		}
		if !shown[k] { // steward show agrees with the export, for a run of each kind
			shown[k] = true
			if s := shownAttempts(t, dir, env, id); fmt.Sprint(s) != fmt.Sprint(n) {
				t.Errorf("show %s (%s): steps attempted %v; the audit export says %v", id, k, s, n)
			}
		}
	}
	wantCode(t, homeRun(t, dir, t.TempDir(), env, "audit", "verify"), exitOK, "audit verify")
}

// shownAttempts counts the run's attempts of each step as steward show
// -o json shows them (step.started and attempt.started with an attempt).
func shownAttempts(t *testing.T, dir string, env []string, id string) map[string]int {
	t.Helper()
	r := homeRun(t, dir, t.TempDir(), env, "show", id, "-o", "json")
	var d timeline
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("show %s: %v\n%s", id, err, r.stdout)
	}
	n := map[string]int{}
	for _, e := range d.Timeline {
		a, _ := e.Data["attempt"].(float64)
		if (e.Type == "step.started" || e.Type == "attempt.started") && a > 0 {
			step, _ := e.Data["step"].(string)
			n[step]++
		}
	}
	return n
}
