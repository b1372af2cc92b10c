package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const napRunbook = `version: 1
name: nap
steps:
  - id: hello
    action: core.log
    with: {message: hello}
  - id: nap
    action: core.sleep
    with: {duration: 3s}
  - id: done
    action: core.set
    with: {done: true}
`

// serveProc is a running steward serve.
type serveProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	addr string
	done chan error
}

var listeningRe = regexp.MustCompile(`msg="steward serve listening" addr=(\S+)`)

// startServe starts steward serve on a free port with home, and returns
// once it listens.
func startServe(t testing.TB, dir, home string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(steward, append([]string{"--home", home, "serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	s := &serveProc{cmd: cmd, log: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	s.waitLog(t, listeningRe.String())
	s.addr = listeningRe.FindStringSubmatch(s.log.String())[1]
	return s
}

// waitLimit bounds the waits of these tests for what a server does in
// the background: only a server stuck fails the test, never a slow one
// (the CI machine runs many packages under -race on two cores; a
// takeover alone waits out a 15 s lease).
const waitLimit = 2 * time.Minute

// waitLog waits for a line of the log matching re (at most waitLimit: a
// hung server fails the test rather than hanging it).
func (s *serveProc) waitLog(t testing.TB, re string) {
	t.Helper()
	r := regexp.MustCompile(re)
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); {
		if r.MatchString(s.log.String()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("steward serve did not log %s:\n%s", re, s.log.String())
}

// stop sends SIGTERM and returns the exit status.
func (s *serveProc) stop(t testing.TB) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return s.exit(t)
}

// exit waits for the process to exit (at most waitLimit), and returns
// its status.
func (s *serveProc) exit(t testing.TB) int {
	t.Helper()
	select {
	case err := <-s.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(waitLimit):
		t.Fatalf("steward serve did not exit:\n%s", s.log.String())
	}
	return -1
}

func (s *serveProc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + s.addr + path)
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

// timeline is what these tests read of steward show -o json.
type timeline struct {
	Run      struct{ Status string }
	Timeline []struct {
		Type string
		Data map[string]any
	}
}

func showRun(t *testing.T, dir, home, id string) timeline {
	t.Helper()
	var d timeline
	r := homeRun(t, dir, home, nil, "show", id, "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	return d
}

// waitFor waits until cond holds, and fails the test when it does not
// within waitLimit (something is stuck).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitLimit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// heldGets is an HTTP server whose GETs last until the test lets them
// end: a step of a runbook that runs exactly as long as a test needs,
// with no window to hit (a sleep's end races a slow machine). The n-th
// request (from 1) waits for release(n), or for its client to go away.
type heldGets struct {
	url     string
	count   atomic.Int32
	arrived chan int
	release [10]chan struct{}
}

func newHeldGets(t *testing.T) *heldGets {
	t.Helper()
	h := &heldGets{arrived: make(chan int, len(heldGets{}.release))}
	for i := range h.release {
		h.release[i] = make(chan struct{})
	}
	over := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(h.count.Add(1))
		if n > len(h.release) {
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		h.arrived <- n
		select {
		case <-h.release[n-1]:
			_, _ = io.WriteString(w, "awake")
		case <-r.Context().Done():
		case <-over:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(over) })
	h.url = srv.URL
	return h
}

// wait waits for the n-th request to arrive.
func (h *heldGets) wait(t *testing.T, n int) {
	t.Helper()
	select {
	case got := <-h.arrived:
		if got != n {
			t.Fatalf("request %d arrived; want %d", got, n)
		}
	case <-time.After(waitLimit):
		t.Fatalf("request %d never arrived", n)
	}
}

// let lets the n-th request end, answering 200.
func (h *heldGets) let(n int) { close(h.release[n-1]) }

// heldNapRunbook is napRunbook with a nap that lasts until h lets it end.
func heldNapRunbook(h *heldGets) string {
	return strings.Replace(napRunbook, "action: core.sleep\n    with: {duration: 3s}",
		"action: http.request\n    with: {url: '"+h.url+"/nap', timeout: 1h}", 1)
}

// napping says whether the run's nap step started after its last
// run.resumed record (count: how many run.resumed records it needs).
func (d timeline) napping(resumes int) bool {
	n := 0
	for _, e := range d.Timeline {
		if e.Type == "run.resumed" {
			n++
		}
		if n == resumes && e.Type == "step.started" && e.Data["step"] == "nap" {
			return true
		}
	}
	return false
}

// TestServeResumesInterruptedRunsAndShutsDownGracefully: a run whose
// process was killed mid-step is resumed by steward serve at its start;
// SIGTERM during its running step, longer than the grace period, exits 0
// after it and leaves the run interrupted; SIGTERM with a grace long
// enough lets the step finish, starts no other, and stops cleanly; the
// next steward serve resumes the run to its end; the journal verifies. The API refuses every request while no
// authentication is configured (the tokens middleware is wired after
// merge: see serveDeps), while health, readiness, metrics and the OpenAPI
// document answer.
//
// The nap (a GET, which does not mutate: it is resumed) lasts until the
// test lets it end: it is running at each kill and SIGTERM, and the
// second server's ends after its SIGTERM, however slow the machine
// (a 3 s sleep raced the polls of steward show under load).
func TestServeResumesInterruptedRunsAndShutsDownGracefully(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	gets := newHeldGets(t)
	writeFile(t, filepath.Join(dir, "runbooks", "nap.yaml"), heldNapRunbook(gets))
	cli := exec.Command(steward, "--home", home, "run", "nap", "--progress", "plain")
	cli.Dir = dir
	out := &syncBuffer{}
	cli.Stdout, cli.Stderr = out, out
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Process.Kill() })
	gets.wait(t, 1)
	napping := regexp.MustCompile(`nap +running`)
	waitFor(t, "the CLI to show nap running", func() bool { return napping.MatchString(out.String()) })
	if err := cli.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cli.Wait()
	id := runID(t, result{stdout: out.String()})
	if got := homeRun(t, dir, home, nil, "runs", "--status", "interrupted", "-o", "json").stdout; !strings.Contains(got, id) {
		t.Fatalf("the killed run is not interrupted:\n%s", got)
	}

	first := startServe(t, dir, home, "--grace", "300ms")
	first.waitLog(t, `resuming an interrupted run" run=`+id)
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/openapi.yaml", "/metrics"} {
		if code, body := first.get(t, path); code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	if code, body := first.get(t, "/api/v1/runs"); code != 401 || !strings.Contains(body, "urn:steward:problem:unauthenticated") {
		t.Fatalf("/api/v1/runs without authentication: %d %s", code, body)
	}
	gets.wait(t, 2)
	waitFor(t, "the first server's nap in the journal", func() bool { return showRun(t, dir, home, id).napping(1) })
	if code := first.stop(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, first.log.String())
	}
	if !strings.Contains(first.log.String(), "runs still executing are left to resume") {
		t.Fatalf("the shutdown did not leave the run:\n%s", first.log.String())
	}
	if got := homeRun(t, dir, home, nil, "runs", "--status", "interrupted", "-o", "json").stdout; !strings.Contains(got, id) {
		t.Fatalf("after SIGTERM the run is not interrupted:\n%s\nserve:\n%s", got, first.log.String())
	}

	// SIGTERM with time to spare: the running step finishes (after the
	// SIGTERM, and within the grace), the next one does not start, and
	// the server stops cleanly.
	second := startServe(t, dir, home, "--grace", "30s")
	second.waitLog(t, `resuming an interrupted run" run=`+id)
	gets.wait(t, 3)
	waitFor(t, "the second server's nap in the journal", func() bool { return showRun(t, dir, home, id).napping(2) })
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	second.waitLog(t, `msg="shutting down"`) // no step starts from now on
	gets.let(3)
	if code := second.exit(t); code != 0 || !strings.Contains(second.log.String(), `msg=stopped`) ||
		!strings.Contains(second.log.String(), `a resumed run was held for the next start" run=`+id) {
		t.Fatalf("exit %d:\n%s", code, second.log.String())
	}
	held := showRun(t, dir, home, id)
	for _, e := range held.Timeline {
		if e.Type == "step.started" && e.Data["step"] == "done" {
			t.Fatalf("a step started after SIGTERM: %+v", held.Timeline)
		}
	}
	if !regexp.MustCompile(`nap +http\.request +succeeded`).MatchString(homeRun(t, dir, home, nil, "show", id).stdout) {
		t.Fatalf("the running step did not finish:\n%s", homeRun(t, dir, home, nil, "show", id).stdout)
	}

	third := startServe(t, dir, home)
	third.waitLog(t, `a resumed run went on" run=`+id+` status=succeeded`)
	d := showRun(t, dir, home, id)
	naps := 0
	for _, e := range d.Timeline {
		if e.Type == "step.started" && e.Data["step"] == "nap" {
			naps++
		}
	}
	if d.Run.Status != "succeeded" || naps != 3 || gets.count.Load() != 3 {
		t.Fatalf("status %s after the third serve; nap started %d times and got %d GETs, want 3 (once per process that ran it)", d.Run.Status, naps, gets.count.Load())
	}
	if _, body := third.get(t, "/metrics"); !strings.Contains(body, `steward_runs_total{runbook="nap",status="succeeded"} 1`) ||
		!strings.Contains(body, "steward_journal_append_seconds_count") {
		t.Fatalf("metrics:\n%s", body)
	}
	if code := third.stop(t); code != 0 || !strings.Contains(third.log.String(), `msg=stopped`) {
		t.Fatalf("exit %d:\n%s", code, third.log.String())
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

// A --listen steward serve cannot listen on is bad usage: exit 2, and
// nothing is served.
func TestServeBadListen(t *testing.T) {
	r := homeRun(t, t.TempDir(), t.TempDir(), []string{"STEWARD_LISTEN=nowhere"}, "serve")
	wantCode(t, r, exitInvalid, "serve with a bad STEWARD_LISTEN")
	if !strings.Contains(r.stderr, "--listen nowhere") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
}

const mutateRunbook = `version: 1
name: mutate
steps:
  - id: change
    action: exec
    with: {command: [sleep, "3"]}
`

// heldMutation is mutateRunbook whose change lasts until the test kills
// it, so that a test kills its process during it however slow the
// machine (a 3 s sleep may end first): its program writes its pid, then
// sleeps for an hour. Its process's death leaves the program running:
// kill ends it.
type heldMutation struct{ pidFile string }

func newHeldMutation(t *testing.T) *heldMutation {
	return &heldMutation{pidFile: filepath.Join(t.TempDir(), "change.pid")}
}

func (h *heldMutation) runbook() string {
	return strings.Replace(mutateRunbook, `[sleep, "3"]`,
		`[sh, -c, 'echo $$ >`+h.pidFile+`.new && mv `+h.pidFile+`.new `+h.pidFile+` && exec sleep 3600']`, 1)
}

// pid returns the program's pid once it runs, 0 before.
func (h *heldMutation) pid() int {
	b, _ := os.ReadFile(h.pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// kill kills the program, once its process died.
func (h *heldMutation) kill(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(h.pid(), syscall.SIGKILL); err != nil {
		t.Fatalf("killing change's program (pid %d): %v", h.pid(), err)
	}
}

// TestServeLeavesAnInterruptedMutationToAPerson: at its start, steward
// serve resumes a run killed during an attempt of an action that mutates
// and is not idempotent by the usual rules: nobody knows whether it took
// effect, so the run waits for a person's decision instead of running it
// again.
func TestServeLeavesAnInterruptedMutationToAPerson(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	change := newHeldMutation(t)
	writeFile(t, filepath.Join(dir, "runbooks", "mutate.yaml"), change.runbook())
	cli := exec.Command(steward, "--home", home, "run", "mutate", "--progress", "plain")
	cli.Dir = dir
	out := &syncBuffer{}
	cli.Stdout, cli.Stderr = out, out
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Process.Kill() })
	changing := regexp.MustCompile(`change +running`)
	waitFor(t, "change running", func() bool { return change.pid() > 0 && changing.MatchString(out.String()) })
	if err := cli.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cli.Wait()
	change.kill(t)
	id := runID(t, result{stdout: out.String()})

	srv := startServe(t, dir, home)
	srv.waitLog(t, `a resumed run went on" run=`+id+` status=waiting`)
	d := showRun(t, dir, home, id)
	if d.Run.Status != "waiting" || !strings.Contains(homeRun(t, dir, home, nil, "show", id).stdout, "interrupted during attempt 1 of exec") {
		t.Fatalf("status %s", d.Run.Status)
	}
	attempts := 0
	for _, e := range d.Timeline {
		// An attempt starts in step.started, or in an attempt.started of
		// its own when the recorder wrote step.started before it began; a
		// step that waits is started without an attempt.
		started := e.Type == "attempt.started" || e.Type == "step.started" && e.Data["attempt"] != nil
		if started && e.Data["step"] == "change" {
			attempts++
		}
	}
	if attempts != 1 {
		t.Fatalf("the interrupted mutation was started %d times:\n%s", attempts, homeRun(t, dir, home, nil, "show", id).stdout)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, srv.log.String())
	}
}

// TestServePicksUpPluginChanges: a plugin binary changed under a running
// steward serve is refused until the lock file pins it, then picked up
// without a restart; SIGHUP reloads at once.
func TestServePicksUpPluginChanges(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	path := installPlugin(t, home, "example")
	wantCode(t, homeRun(t, dir, home, nil, "plugins", "lock"), exitOK, "plugins lock")
	srv := startServe(t, dir, home, "--plugin-poll", "50ms")

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path+".new", string(append(b, "rebuilt"...)))
	if err := os.Chmod(path+".new", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	srv.waitLog(t, `plugins not reloaded".*changed since it was locked`)
	time.Sleep(200 * time.Millisecond) // several polls: the problem is logged once
	if log := srv.log.String(); strings.Contains(log, "plugins reloaded") || strings.Count(log, "plugins not reloaded") != 1 {
		t.Fatalf("an unpinned binary was picked up, or its problem logged at each poll:\n%s", log)
	}
	wantCode(t, homeRun(t, dir, home, nil, "plugins", "lock"), exitOK, "plugins lock")
	srv.waitLog(t, `plugins reloaded" plugins=\[example\]`)
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	srv.waitLog(t, `SIGHUP: reloading`)
	if code := srv.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, srv.log.String())
	}
}
