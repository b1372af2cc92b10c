package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The crash suite starts runs of crashRunbook through the real CLI, kills
// each with SIGKILL at a random moment, then resumes it (and kills some
// resumes too) until it ends, deciding like a person when a
// non-idempotent action was interrupted. Every run shares one --home, so
// crashWorkers processes journal into the same store at once. It starts
// at least crashRuns runs, and more until crashKills kills have landed
// after a run was recorded (a run that ends before its kill moment is
// not killed; a kill before run.started is written leaves nothing to
// check), at most crashMaxRuns.
const (
	crashRuns    = 200
	crashKills   = 200
	crashMaxRuns = 5 * crashRuns
	crashWorkers = 4
	// crashCalibrations are the clean runs that measure a run's time.
	crashCalibrations = 2 * crashWorkers
	// crashChaos: runs whose n%8 is at least this have their resumes and
	// decisions killed at random too (a quarter of them).
	crashChaos = 6
	// crashMaxKills bounds the killed continuations of one run.
	crashMaxKills = 3
	// crashSteps bounds the continuations of one run: more means resume
	// never gets the run to an end.
	crashSteps = 50
	// crashGuard is the longest a steward process may take: a guard against
	// a hang, not a measure.
	crashGuard = 2 * time.Minute
)

// crashRunbook mixes read-only (GET), idempotent (PUT) and non-idempotent
// (POST) requests, a for_each of PUTs, parallel branches, retries and
// core.set steps that read outputs recorded before a crash. Its pause is
// a long read-only step after a finished read-only one (reserved): the
// records of reserved are written, and shown, by the recorder's timer
// (journal.FlushEvery) while pause runs, so that kills land after
// progress that only the timer wrote.
const crashRunbook = `version: 1
name: crash
inputs:
  base: {type: string, required: true, pattern: '^http://'}
steps:
  - id: probe
    action: http.request
    with: {url: '${{ inputs.base }}/probe?run=${{ run.id }}'}
  - id: order
    action: core.set
    with:
      id: ${{ run.id }}
      items: ${{ ["a", "b", "c"] }}
  - id: reserve
    action: http.request
    with: {method: PUT, url: '${{ inputs.base }}/reserve'}
  - id: reserved
    action: core.set
    with: {ok: true}
  - id: pause
    action: core.sleep
    with: {duration: 150ms}
  - id: charge
    action: http.request
    with: {method: POST, url: '${{ inputs.base }}/charge'}
    outputs:
      status: ${{ result.status }}
  - id: ship
    needs: [charge]
    for_each: steps.order.outputs.items
    action: http.request
    with: {method: PUT, url: '${{ inputs.base }}/ship/${{ item }}'}
    outputs:
      item: ${{ item }}
      status: ${{ result.status }}
  - id: ledger
    needs: [charge]
    action: http.request
    with: {method: POST, url: '${{ inputs.base }}/ledger'}
  - id: notify
    needs: [charge]
    action: http.request
    with: {method: POST, url: '${{ inputs.base }}/notify'}
    retry: {attempts: 2, delay: 1ms}
  - id: bill
    needs: [charge]
    for_each: '${{ ["x", "y"] }}'
    action: http.request
    with: {method: POST, url: '${{ inputs.base }}/bill/${{ item }}'}
  - id: flaky
    needs: [ship, ledger, notify, bill]
    action: http.request
    with: {method: PUT, url: '${{ inputs.base }}/flaky'}
    retry: {attempts: 3, delay: 1ms}
  - id: status
    action: http.request
    with: {url: '${{ inputs.base }}/status?run=${{ run.id }}'}
  - id: summary
    action: core.set
    with:
      order: ${{ steps.order.outputs.id }}
      charged: ${{ steps.charge.outputs.status }}
      shipped: ${{ map(steps.ship.outputs, .item) }}
outputs:
  order: ${{ steps.summary.outputs.order }}
  charged: ${{ steps.summary.outputs.charged }}
  shipped: ${{ steps.summary.outputs.shipped }}
`

// crashPaths maps each path the runbook requests to its method and its
// step: STEP, or STEP:INDEX for an item. A mutating request carries the
// idempotency key RUN:STEP[:INDEX]; a GET names its run in ?run=.
var crashPaths = map[string]struct{ method, step string }{
	"/probe":   {"GET", "probe"},
	"/reserve": {"PUT", "reserve"},
	"/charge":  {"POST", "charge"},
	"/ship/a":  {"PUT", "ship:0"},
	"/ship/b":  {"PUT", "ship:1"},
	"/ship/c":  {"PUT", "ship:2"},
	"/ledger":  {"POST", "ledger"},
	"/notify":  {"POST", "notify"},
	"/bill/x":  {"POST", "bill:0"},
	"/bill/y":  {"POST", "bill:1"},
	"/flaky":   {"PUT", "flaky"},
	"/status":  {"GET", "status"},
}

// crashPOSTs are the steps whose action is not idempotent.
var crashPOSTs = map[string]bool{"charge": true, "ledger": true, "notify": true, "bill": true}

// crashStartedRe finds the run id in the first line of plain progress.
var crashStartedRe = regexp.MustCompile(`run (\d{8}-\d{6}-[0-9a-f]{8}) started`)

// crashSucceededRe finds the main steps plain progress shows as succeeded.
var crashSucceededRe = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  ([a-z][a-z0-9_]*) +succeeded `)

// crashPauseRe finds the long read-only step shown running.
var crashPauseRe = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  pause +running`)

// shownSucceeded are the main steps a process's progress showed as
// succeeded.
func shownSucceeded(stdout string) []string {
	var steps []string
	for _, m := range crashSucceededRe.FindAllStringSubmatch(stdout, -1) {
		steps = append(steps, m[1])
	}
	return steps
}

// peerCall is one kind of request the peer got.
type peerCall struct{ method, path, key, run string }

// crashPeer is the service the runbook calls: it counts every request by
// method, path and Idempotency-Key. /flaky and /notify answer the first
// request of each key 503 (retryable) without acting on it.
type crashPeer struct {
	mu       sync.Mutex
	seen     map[peerCall]int      // requests that arrived
	executed map[peerCall]int      // requests it acted on
	arrivals map[peerCall][]string // when they came, and from where
}

func (p *crashPeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := peerCall{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), r.URL.Query().Get("run")}
	p.mu.Lock()
	p.seen[c]++
	p.arrivals[c] = append(p.arrivals[c], time.Now().Format("15:04:05.000000")+" from "+r.RemoteAddr)
	busy := (c.path == "/flaky" || c.path == "/notify") && p.seen[c] == 1
	if !busy {
		// Acted on as it arrives: a client killed now does not undo it.
		p.executed[c]++
	}
	p.mu.Unlock()
	// A little work, so that kills land inside actions too.
	time.Sleep(rand.N(3 * time.Millisecond))
	if busy {
		http.Error(w, "busy, try again", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
}

// crashSuite runs steward processes against one home.
type crashSuite struct {
	home, dir, file, base string
	full                  time.Duration // a clean run takes about this long

	runKills, cleanRuns, unrecorded   atomic.Int64
	resumes, approves, denies, kills2 atomic.Int64
	// shownKilled counts the steps that killed processes had shown as
	// succeeded: each is checked against the journal.
	shownKilled atomic.Int64
	// inPause counts the kills that landed in the long read-only step:
	// the progress showed it running, not finished.
	inPause  atomic.Int64
	twoWaits atomic.Int64 // times a run waited for two decisions at once

	mu      sync.Mutex
	decided map[string]int // decisions asked for, by step
}

// crashShown is what the suite reads of steward show -o json.
type crashShown struct {
	Run struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Actor  string `json:"actor"`
	} `json:"run"`
	Outputs   map[string]any `json:"outputs"`
	Approvals []struct {
		Step        string `json:"step"`
		Approved    bool   `json:"approved"`
		By          string `json:"by"`
		Interrupted bool   `json:"interrupted"`
	} `json:"approvals"`
	Waiting []struct {
		Step        string `json:"step"`
		Interrupted bool   `json:"interrupted"`
	} `json:"waiting"`
	Timeline []struct {
		Seq  int64     `json:"seq"`
		Time time.Time `json:"time"`
		Type string    `json:"type"`
		Data struct {
			Step    string `json:"step"`
			Phase   string `json:"phase"`
			Index   *int   `json:"index"`
			Attempt int    `json:"attempt"`
			Status  string `json:"status"`
		} `json:"data"`
	} `json:"timeline"`
}

// records lists the run's records of one step, and its starts and
// resumes, for a failure message.
func (d *crashShown) records(step string) string {
	step, _, _ = strings.Cut(step, ":")
	var b strings.Builder
	for _, r := range d.Timeline {
		if r.Data.Step == step || r.Data.Step == "" {
			fmt.Fprintf(&b, "  %d %s %s %s attempt %d\n", r.Seq, r.Time.Format("15:04:05.000000"), r.Type, r.Data.Step, r.Data.Attempt)
		}
	}
	return b.String()
}

// succeeded says whether the journal records the main step as succeeded.
func (d *crashShown) succeeded(step string) bool {
	for _, r := range d.Timeline {
		if r.Type == "step.finished" && r.Data.Step == step && r.Data.Phase == "" && r.Data.Status == "succeeded" {
			return true
		}
	}
	return false
}

// crashJournal is what a run's records say of its processes and steps.
type crashJournal struct {
	starts   []int64          // run.started and run.resumed: a process ran it from there
	attempts map[string]int   // attempts started, by STEP or STEP:INDEX
	finished map[string]int64 // the record that finished it, by STEP or STEP:INDEX
}

// journal reads the timeline; problems are records that start an attempt
// of what had finished.
func (d *crashShown) journal() (j *crashJournal, problems []string) {
	j = &crashJournal{attempts: map[string]int{}, finished: map[string]int64{}}
	finish := func(k string, seq int64) {
		if _, ok := j.finished[k]; !ok {
			j.finished[k] = seq
		}
	}
	for _, r := range d.Timeline {
		k := r.Data.Step
		if r.Data.Index != nil && *r.Data.Index >= 0 {
			k += fmt.Sprintf(":%d", *r.Data.Index)
		}
		switch r.Type {
		case "run.started", "run.resumed":
			j.starts = append(j.starts, r.Seq)
		case "step.started", "attempt.started":
			if r.Data.Attempt == 0 {
				break // a step.started apart from its first attempt
			}
			j.attempts[k]++
			if seq, ok := j.finished[k]; ok {
				problems = append(problems, fmt.Sprintf("record %d starts attempt %d of %s, which record %d finished", r.Seq, r.Data.Attempt, k, seq))
			}
		case "item.finished", "step.finished":
			if r.Data.Status != "succeeded" && r.Data.Status != "failed" {
				break
			}
			finish(k, r.Seq)
			for _, p := range crashPaths {
				if strings.HasPrefix(p.step, k+":") {
					finish(p.step, r.Seq) // its items
				}
			}
		}
	}
	return j, problems
}

// ran is how many processes may have run step k: those that started
// before it finished.
func (j *crashJournal) ran(k string) int {
	end, ok := j.finished[k]
	n := 0
	for _, seq := range j.starts {
		if !ok || seq < end {
			n++
		}
	}
	return n
}

// crashOutcome is what happened to one run.
type crashOutcome struct {
	name  string // "run 17", for messages
	actor string
	id    string // "" when killed before its run was recorded
	final *crashShown
}

// steward runs the binary with --home. When kill >= 0, it sends SIGKILL
// after kill unless the process ended first; killed says the signal
// ended it.
func (s *crashSuite) steward(kill time.Duration, args ...string) (r result, killed bool, err error) {
	cmd := exec.Command(steward, append([]string{"--home", s.home}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return r, false, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	guard := time.NewTimer(crashGuard)
	defer guard.Stop()
	var killer <-chan time.Time
	if kill >= 0 {
		t := time.NewTimer(kill)
		defer t.Stop()
		killer = t.C
	}
	select {
	case err = <-done:
	case <-killer:
		_ = cmd.Process.Kill()
		err = <-done
	case <-guard.C:
		_ = cmd.Process.Kill()
		<-done
		return r, false, fmt.Errorf("steward %s hung for %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), crashGuard, &out, &errb)
	}
	r = result{out.String(), errb.String(), 0}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
		ws, ok := ee.Sys().(syscall.WaitStatus)
		killed = ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
		return r, killed, nil
	}
	return r, false, err
}

// must runs steward to its end and wants exit status 0.
func (s *crashSuite) must(args ...string) (string, error) {
	r, _, err := s.steward(-1, args...)
	if err != nil {
		return "", err
	}
	if r.code != 0 {
		return "", fmt.Errorf("steward %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout, nil
}

func (s *crashSuite) show(id string) (*crashShown, error) {
	out, err := s.must("show", id, "-o", "json")
	if err != nil {
		return nil, err
	}
	var doc crashShown
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("steward show %s -o json: %v\n%s", id, err, out)
	}
	return &doc, nil
}

type crashRun struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Actor  string `json:"actor"`
}

func (s *crashSuite) runs(extra ...string) ([]crashRun, error) {
	out, err := s.must(append([]string{"runs", "-o", "json", "--limit", "0"}, extra...)...)
	if err != nil {
		return nil, err
	}
	var runs []crashRun
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		return nil, fmt.Errorf("steward runs -o json: %v\n%s", err, out)
	}
	return runs, nil
}

// start runs the runbook as actor, killed after kill (< 0: never), and
// returns the run's id: from its first line of progress, else from the
// journal ("" when it holds no run of actor).
func (s *crashSuite) start(actor string, kill time.Duration) (id string, r result, killed bool, err error) {
	r, killed, err = s.steward(kill, "run", s.file, "--input", "base="+s.base, "--progress", "plain", "--as", actor)
	if err != nil {
		return "", r, killed, err
	}
	if m := crashStartedRe.FindStringSubmatch(r.stdout); m != nil {
		return m[1], r, killed, nil
	}
	runs, err := s.runs()
	if err != nil {
		return "", r, killed, err
	}
	for _, run := range runs {
		if run.Actor == actor {
			return run.ID, r, killed, nil
		}
	}
	return "", r, killed, nil
}

// crash starts run n, kills it at a random moment, then goes on with it
// until it ends: steward resume when it was interrupted, steward approve
// (even n) or approve --deny (odd n) when it waits for a decision.
func (s *crashSuite) crash(n int) (*crashOutcome, error) {
	o := &crashOutcome{name: fmt.Sprintf("run %d", n), actor: fmt.Sprintf("operator-%d", n)}
	id, r, killed, err := s.start(o.actor, rand.N(s.full+1))
	if err != nil {
		return o, err
	}
	o.id = id
	if killed {
		s.runKills.Add(1)
	} else {
		s.cleanRuns.Add(1)
	}
	if id == "" {
		s.unrecorded.Add(1)
		if !killed {
			return o, fmt.Errorf("steward run exited %d and recorded no run\n%s%s", r.code, r.stdout, r.stderr)
		}
		return o, nil
	}
	o.name += " (" + id + ")"
	approve, chaos := n%2 == 0, n%8 >= crashChaos
	// What the last command that was not killed says the run is now.
	want, after := "", "steward run"
	if !killed {
		if want = crashStatusOf(r.code); want == "" {
			return o, fmt.Errorf("steward run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	kills := 0
	// shown are the steps a process's progress showed as succeeded, by
	// the command that showed them.
	shown := map[string]string{}
	for i := 0; ; i++ {
		if i == crashSteps {
			return o, fmt.Errorf("still %s after %d continuations", o.final.Run.Status, crashSteps)
		}
		if o.final, err = s.show(id); err != nil {
			return o, err
		}
		// What any process showed as succeeded is succeeded in the
		// journal, even when it was killed right after.
		for _, step := range shownSucceeded(r.stdout) {
			if !o.final.succeeded(step) {
				return o, fmt.Errorf("%s (killed: %v) showed step %s succeeded, but the journal does not record it\nprogress:\n%s\nrecords:\n%s",
					after, killed, step, r.stdout, o.final.records(step))
			}
			if killed {
				s.shownKilled.Add(1)
			}
			if _, ok := shown[step]; !ok {
				shown[step] = after
			}
		}
		if killed && crashPauseRe.MatchString(r.stdout) && !slices.Contains(shownSucceeded(r.stdout), "pause") {
			s.inPause.Add(1)
		}
		status := o.final.Run.Status
		if want != "" && status != want {
			return o, fmt.Errorf("%s exited as if the run were %s, but it is %s\n%s%s", after, want, status, r.stdout, r.stderr)
		}
		var args []string
		switch status {
		case "succeeded", "failed", "cancelled":
			return o, nil
		case StatusInterrupted:
			args = []string{"resume", id, "--progress", "plain"}
		case "waiting":
			if len(o.final.Waiting) == 0 {
				// Decided, but the process that decided was killed before
				// it went on.
				args = []string{"resume", id, "--progress", "plain"}
				break
			}
			w := o.final.Waiting[0]
			if len(o.final.Waiting) > 1 {
				s.twoWaits.Add(1)
			}
			s.mu.Lock()
			s.decided[w.Step]++
			s.mu.Unlock()
			if !w.Interrupted {
				return o, fmt.Errorf("waits for step %s, which has no approval and was not interrupted", w.Step)
			}
			if by, ok := shown[w.Step]; ok {
				return o, fmt.Errorf("asks whether to run step %s again, which %s showed as succeeded", w.Step, by)
			}
			if !crashPOSTs[w.Step] {
				return o, fmt.Errorf("waits for a decision on step %s, which is not a non-idempotent action", w.Step)
			}
			args = []string{"approve", id, w.Step, "--as", "checker", "--progress", "plain", "--comment", "checked the peer"}
			if !approve {
				args = append(args, "--deny")
			}
		default:
			return o, fmt.Errorf("is %s after every process that ran it ended", status)
		}
		kill := time.Duration(-1)
		if chaos && kills < crashMaxKills && rand.IntN(2) == 0 {
			kill = rand.N(s.full + 1)
		}
		r, killed, err = s.steward(kill, args...)
		if err != nil {
			return o, err
		}
		switch {
		case args[0] == "resume":
			s.resumes.Add(1)
		case approve:
			s.approves.Add(1)
		default:
			s.denies.Add(1)
		}
		want, after = "", "steward "+strings.Join(args, " ")
		if killed {
			kills++
			s.kills2.Add(1)
			continue
		}
		if want = crashStatusOf(r.code); want == "" {
			return o, fmt.Errorf("%s: exit %d\n%s%s", after, r.code, r.stdout, r.stderr)
		}
	}
}

// crashStatusOf is the run status an exit status of run, resume or
// approve means; "" for none.
func crashStatusOf(code int) string {
	switch code {
	case exitOK:
		return "succeeded"
	case exitFailed:
		return "failed"
	case exitWaiting:
		return "waiting"
	}
	return ""
}

// TestCrashResume kills runs at random moments, resumes them (killing some
// resumes too), and checks with the peer's counts and the journal that no
// non-idempotent action ran twice without a person's decision, that
// idempotent ones were repeated only with their own key, that every run
// ended, and that the journal's hash chain holds.
func TestCrashResume(t *testing.T) {
	begin := time.Now()
	peer := &crashPeer{seen: map[peerCall]int{}, executed: map[peerCall]int{}, arrivals: map[peerCall][]string{}}
	srv := httptest.NewServer(peer)
	t.Cleanup(srv.Close)
	tmp := t.TempDir()
	s := &crashSuite{home: filepath.Join(tmp, "home"), dir: tmp, file: filepath.Join(tmp, "crash.yaml"), base: srv.URL,
		decided: map[string]int{}}
	writeFile(t, s.file, crashRunbook)
	if _, err := s.must("validate", s.file); err != nil {
		t.Fatal(err)
	}
	// Create the journal before processes share it: the first opens of a
	// new home at once may fail with SQLITE_BUSY, which is not what this
	// suite is about.
	if _, err := s.must("runs"); err != nil {
		t.Fatal(err)
	}

	// Calibrate: the median time of clean runs, crashWorkers at once as
	// below, bounds the kill delays.
	var outcomes []*crashOutcome
	var took []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range crashCalibrations {
		if i%crashWorkers == 0 {
			wg.Wait()
		}
		wg.Go(func() {
			o := &crashOutcome{name: fmt.Sprintf("calibration run %d", i), actor: fmt.Sprintf("calibrate-%d", i)}
			t0 := time.Now()
			id, r, _, err := s.start(o.actor, -1)
			d := time.Since(t0)
			if err == nil && (r.code != 0 || id == "") {
				err = fmt.Errorf("exit %d, run %q\n%s%s", r.code, id, r.stdout, r.stderr)
			}
			if err == nil {
				o.id = id
				o.final, err = s.show(id)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s: %v", o.name, err)
				return
			}
			outcomes = append(outcomes, o)
			took = append(took, d)
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	slices.Sort(took)
	s.full = took[len(took)/2]
	t.Logf("a clean run takes %s (%s to %s): kills land within that", s.full.Round(time.Millisecond),
		took[0].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))

	next := make(chan int)
	for range crashWorkers {
		wg.Go(func() {
			for n := range next {
				o, err := s.crash(n)
				if err != nil {
					t.Errorf("%s: %v", o.name, err)
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
			}
		})
	}
	started := 0
	// kills landed in recorded runs.
	kills := func() int64 { return s.runKills.Load() - s.unrecorded.Load() + s.kills2.Load() }
	for ; started < crashMaxRuns && (started < crashRuns || kills() < crashKills); started++ {
		next <- started
	}
	close(next)
	wg.Wait()
	if k := kills(); k < crashKills {
		t.Errorf("%d kills landed in recorded runs in %d runs, want at least %d", k, started, crashKills)
	}
	crashCheck(t, s, peer, outcomes)
	t.Logf("%d runs: %d kills landed in recorded runs; of the runs, %d kills landed (%d before the run was recorded), %d ended before the kill; "+
		"%d resumes, %d approve and %d approve --deny (waits by step: %v, %d times for two steps at once), %d of these %d killed; "+
		"%d steps shown succeeded by killed processes, each succeeded in the journal; %d kills landed in the long read-only step; took %s",
		started, kills(), s.runKills.Load(), s.unrecorded.Load(), s.cleanRuns.Load(),
		s.resumes.Load(), s.approves.Load(), s.denies.Load(), s.decided, s.twoWaits.Load(),
		s.kills2.Load(), s.resumes.Load()+s.approves.Load()+s.denies.Load(), s.shownKilled.Load(), s.inPause.Load(),
		time.Since(begin).Round(time.Millisecond))
}

// crashCheck checks the journal and the peer's counts once every run is
// over.
func crashCheck(t *testing.T, s *crashSuite, peer *crashPeer, outcomes []*crashOutcome) {
	t.Helper()
	runs, err := s.runs()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]crashRun{}
	for _, r := range runs {
		listed[r.ID] = r
	}
	byID := map[string]*crashOutcome{}
	statuses := map[string]int{}
	// reruns counts, by run and step, the interrupted attempts a person
	// approved to run again.
	reruns := map[string]int{}
	approved, denials := 0, 0
	for _, o := range outcomes {
		if o.id == "" {
			continue
		}
		byID[o.id] = o
		r, ok := listed[o.id]
		if !ok {
			t.Errorf("%s: steward runs does not list it", o.name)
			continue
		}
		if r.Actor != o.actor {
			t.Errorf("%s: started by %s, steward runs says %s", o.name, o.actor, r.Actor)
		}
		if o.final == nil {
			continue // its error is reported
		}
		statuses[r.Status]++
		denied := false
		for _, a := range o.final.Approvals {
			if !a.Interrupted || a.By != "checker" {
				t.Errorf("%s: unexpected decision %+v", o.name, a)
			}
			if a.Approved {
				reruns[o.id+":"+a.Step]++
				approved++
			} else {
				denied = true
				denials++
			}
		}
		switch r.Status {
		case "succeeded":
			out := o.final.Outputs
			shipped, _ := json.Marshal(out["shipped"])
			if out["order"] != o.id || out["charged"] != 200.0 || string(shipped) != `["a","b","c"]` {
				t.Errorf("%s: succeeded with outputs %v", o.name, out)
			}
		case "failed":
			if !denied {
				t.Errorf("%s: failed, yet nobody denied a step", o.name)
			}
		default:
			t.Errorf("%s: ended %s: want succeeded, or failed after a denial", o.name, r.Status)
		}
	}
	if len(listed) != len(byID) {
		var extra []string
		for id := range listed {
			if byID[id] == nil {
				extra = append(extra, id)
			}
		}
		t.Errorf("steward runs lists %d runs, the suite recorded %d; unknown: %v", len(listed), len(byID), extra)
	}

	journals := map[string]*crashJournal{}
	for id, o := range byID {
		if o.final == nil {
			continue
		}
		j, problems := o.final.journal()
		journals[id] = j
		for _, p := range problems {
			t.Errorf("%s: a finished step ran again: %s", o.name, p)
		}
	}

	peer.mu.Lock()
	defer peer.mu.Unlock()
	var requests, maxPost, maxPut, maxGet int
	executed := map[string]bool{} // RUN:STEP[:INDEX] the peer acted on
	for c, seen := range peer.seen {
		n := peer.executed[c]
		requests += seen
		want, ok := crashPaths[c.path]
		if !ok || c.method != want.method {
			t.Errorf("%s %s: the runbook sends no such request", c.method, c.path)
			continue
		}
		id, step := c.run, want.step
		if c.method == "GET" {
			if c.key != "" {
				t.Errorf("%s %s?run=%s carried Idempotency-Key %s", c.method, c.path, c.run, c.key)
			}
		} else {
			id, step, _ = strings.Cut(c.key, ":")
		}
		o, j := byID[id], journals[id]
		if o == nil {
			t.Errorf("%s %s (key %q, run %q): %d requests for a run the journal does not hold", c.method, c.path, c.key, c.run, seen)
			continue
		}
		if j == nil {
			continue // its error is reported
		}
		if step != want.step {
			t.Errorf("%s: %s %s carried key %s, want %s:%s", o.name, c.method, c.path, c.key, id, want.step)
			continue
		}
		if n > 0 {
			executed[id+":"+step] = true
		}
		var problem string
		stepID, _, _ := strings.Cut(step, ":")
		decided := id + ":" + stepID // decisions name the step, not its item
		switch ran := j.ran(step); {
		case n > ran:
			problem = fmt.Sprintf("the peer acted on %s %s %d times, but only %d processes ran the run before the step finished", c.method, c.path, n, ran)
		case c.method != "GET" && seen > j.attempts[step]:
			problem = fmt.Sprintf("the peer got %s %s %d times, but the journal records %d attempts: one ran before it was recorded", c.method, c.path, seen, j.attempts[step])
		case c.method == "POST" && n > 1+reruns[decided]:
			problem = fmt.Sprintf("the peer acted on POST %s %d times, but people approved %d re-runs of step %s after interruptions: at most %d",
				c.path, n, reruns[decided], stepID, 1+reruns[decided])
		}
		if problem != "" {
			t.Errorf("%s: %s\nrequests at %s\nrecords:\n%s", o.name, problem, strings.Join(peer.arrivals[c], ", "), o.final.records(step))
		}
		switch c.method {
		case "GET":
			maxGet = max(maxGet, n)
		case "PUT":
			maxPut = max(maxPut, n)
		case "POST":
			maxPost = max(maxPost, n)
		}
	}
	for id, o := range byID {
		if listed[id].Status != "succeeded" {
			continue
		}
		for _, p := range crashPaths {
			if !executed[id+":"+p.step] {
				t.Errorf("%s: succeeded, yet the peer never acted on step %s", o.name, p.step)
			}
		}
	}

	if left, err := s.runs("--status", StatusInterrupted); err != nil {
		t.Error(err)
	} else if len(left) != 0 {
		t.Errorf("steward runs --status interrupted lists %d runs: %v", len(left), left)
	}
	out, err := s.must("audit", "verify")
	if err != nil {
		t.Error(err)
	} else if want := fmt.Sprintf(" in %d runs\n", len(listed)); !strings.HasPrefix(out, "verified ") || !strings.Contains(out, want) {
		t.Errorf("steward audit verify printed %q, want verified ... records%s", out, want)
	}
	t.Logf("final status: %v; decisions recorded: %d re-runs approved, %d denied; %d requests; "+
		"the peer acted on one step of a run at most: POST %d, PUT %d, GET %d times; %s",
		statuses, approved, denials, requests, maxPost, maxPut, maxGet, strings.TrimSpace(out))
}
