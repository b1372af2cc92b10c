package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const greetRunbook = `version: 1
name: hello
inputs:
  who:
    type: string
    pattern: '^[a-z]+$'
    default: world
steps:
  - id: greet
    action: core.log
    with: {message: 'hello ${{ inputs.who }}'}
  - id: answer
    action: core.set
    with: {greeting: 'hello ${{ inputs.who }}'}
outputs:
  greeting: ${{ steps.answer.outputs.greeting }}
`

const gateRunbook = `version: 1
name: gate
steps:
  - id: look
    action: core.set
    with: {v: 1}
  - id: fix
    approval: {message: "fix it?"}
    action: core.set
    with: {fixed: true}
outputs:
  fixed: ${{ steps.fix.outputs.fixed }}
`

const snoozeRunbook = `version: 1
name: snooze
steps:
  - id: first
    action: core.log
    with: {message: awake}
  - id: doze
    action: core.sleep
    with: {duration: 1s}
  - id: last
    action: core.set
    with: {done: true}
`

// remoteSetup is a steward serve over a home with runbooks, tokens made
// with steward tokens create, and a client working in a folder and home
// of its own (nothing local is used but the binary).
type remoteSetup struct {
	dir, home string
	srv       *serveProc
	tokens    map[string]string
	cdir      string
	chome     string
}

func newRemoteSetup(t *testing.T) *remoteSetup {
	t.Helper()
	return newRemoteSetupSnooze(t, snoozeRunbook)
}

// newRemoteSetupSnooze is newRemoteSetup with snooze as the runbook
// snooze.
func newRemoteSetupSnooze(t *testing.T, snooze string) *remoteSetup {
	t.Helper()
	s := &remoteSetup{dir: t.TempDir(), home: t.TempDir(), cdir: t.TempDir(), chome: t.TempDir(), tokens: map[string]string{}}
	writeFile(t, filepath.Join(s.dir, "runbooks", "hello.yaml"), greetRunbook)
	writeFile(t, filepath.Join(s.dir, "runbooks", "gate.yaml"), gateRunbook)
	writeFile(t, filepath.Join(s.dir, "runbooks", "snooze.yaml"), snooze)
	for name, role := range map[string]string{"op": "operator", "lead": "approver", "ap": "approver", "vi": "viewer"} {
		r := homeRun(t, s.dir, s.home, nil, "tokens", "create", name, "--role", role)
		wantCode(t, r, exitOK, "tokens create "+name)
		s.tokens[name] = strings.TrimSpace(r.stdout)
	}
	s.srv = startServe(t, s.dir, s.home)
	return s
}

// remote runs the CLI with --server (env STEWARD_SERVER) at url as the
// token's subject. A command that has not ended after a minute fails the
// test with what it and the server said (a hung client is a bug).
func (s *remoteSetup) remote(t *testing.T, url, token string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, steward, append([]string{"--home", s.chome}, args...)...)
	cmd.Dir = s.cdir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "STEWARD_SERVER="+url, "STEWARD_TOKEN="+s.tokens[token])
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("steward %s did not end within a minute:\n%s%s\nserver:\n%s", strings.Join(args, " "), out.String(), errb.String(), s.srv.log.String())
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running steward: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

func (s *remoteSetup) url() string { return "http://" + s.srv.addr }

// local runs the CLI on the server's home, as on the server's host.
func (s *remoteSetup) local(t *testing.T, args ...string) result {
	t.Helper()
	return homeRun(t, s.dir, s.home, nil, args...)
}

var (
	anyRunID  = regexp.MustCompile(`\d{8}-\d{6}-[0-9a-f]{8}`)
	clock     = regexp.MustCompile(`\d\d:\d\d:\d\d`)
	durations = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s|m)\b`)
)

// normalized is output with run ids, times of day and durations
// replaced: what differs between two runs of the same runbook.
func normalized(s string) string {
	s = anyRunID.ReplaceAllString(s, "RUN")
	s = clock.ReplaceAllString(s, "HH:MM:SS")
	return durations.ReplaceAllString(s, "D")
}

// TestRemoteCLI: with --server, run, runs, show, approve, cancel, resume
// and audit verify|export work with a real steward serve, as the subject
// of tokens made by steward tokens create, and print what the local
// commands print with the same exit statuses.
func TestRemoteCLI(t *testing.T) {
	s := newRemoteSetup(t)
	u := s.url()

	// A core-only run: the same progress and summary as a local run.
	got := s.remote(t, u, "op", "run", "hello", "--input", "who=ana", "--progress", "plain")
	wantCode(t, got, exitOK, "--server run hello")
	want := s.local(t, "run", "hello", "--input", "who=ana", "--progress", "plain")
	wantCode(t, want, exitOK, "run hello")
	if normalized(got.stdout) != normalized(want.stdout) || !strings.Contains(got.stdout, "greeting: hello ana") {
		t.Fatalf("--server run printed:\n%s\nlocal run printed:\n%s", got.stdout, want.stdout)
	}
	// -o json: the run's result document, as a local run prints it.
	got = s.remote(t, u, "op", "run", "hello", "-o", "json")
	wantCode(t, got, exitOK, "--server run -o json")
	want = s.local(t, "run", "hello", "-o", "json")
	var gotDoc, wantDoc map[string]any
	if err := json.Unmarshal([]byte(got.stdout), &gotDoc); err != nil {
		t.Fatalf("%v:\n%s", err, got.stdout)
	}
	if err := json.Unmarshal([]byte(want.stdout), &wantDoc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "actor", "started_at", "finished_at", "duration", "version"} {
		delete(gotDoc, k)
		delete(wantDoc, k)
	}
	for _, d := range []map[string]any{gotDoc, wantDoc} {
		for _, st := range d["steps"].([]any) {
			for _, k := range []string{"started_at", "finished_at", "duration"} {
				delete(st.(map[string]any), k)
			}
		}
	}
	if g, w := mustJSON(t, gotDoc), mustJSON(t, wantDoc); g != w {
		t.Fatalf("--server run -o json:\n%s\nlocal:\n%s", g, w)
	}

	// Invalid inputs: the same diagnostics, exit 2, nothing ran.
	got = s.remote(t, u, "op", "run", "hello", "--input", "who=Ana1")
	want = s.local(t, "run", "hello", "--input", "who=Ana1")
	wantCode(t, got, exitInvalid, "--server run with an invalid input")
	if got.stderr != want.stderr || !strings.Contains(got.stderr, `hello: input who: "Ana1" does not match pattern`) {
		t.Fatalf("--server stderr:\n%s\nlocal stderr:\n%s", got.stderr, want.stderr)
	}

	// A viewer may not run; --as is refused; a bad token is named.
	got = s.remote(t, u, "vi", "run", "hello")
	wantCode(t, got, exitFailed, "--server run as a viewer")
	if !strings.Contains(got.stderr, "vi needs the operator role on runbook hello, and has viewer") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}
	got = s.remote(t, u, "op", "run", "hello", "--as", "bob")
	wantCode(t, got, exitInvalid, "--server run --as")
	if !strings.Contains(got.stderr, "--as is not allowed with --server: the server records the token's subject") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}
	// NAME@REF: the API starts a runbook at the server's pin only.
	got = s.remote(t, u, "op", "run", "hello@v2")
	wantCode(t, got, exitInvalid, "--server run NAME@REF")
	if !strings.Contains(got.stderr, "with --server, run takes no @REF: the server runs hello as it resolves the name (a Git source's pin); run hello@v2 on the server's host") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}
	got = homeRun(t, s.cdir, s.chome, []string{"STEWARD_SERVER=" + u, "STEWARD_TOKEN=stw_nope"}, "runs")
	wantCode(t, got, exitInvalid, "--server runs with an unknown token")
	if !strings.Contains(got.stderr, "the server refused the token: the bearer token is not valid; create one with steward tokens create") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}

	// An approval: exit 3 and the approve commands; the starter is
	// refused as locally; an approver token approves and the run ends.
	got = s.remote(t, u, "lead", "run", "gate", "--progress", "plain")
	wantCode(t, got, exitWaiting, "--server run gate")
	id := runID(t, got)
	want = s.local(t, "run", "gate", "--progress", "plain", "--as", "lead")
	wantCode(t, want, exitWaiting, "run gate")
	if normalized(got.stdout) != normalized(want.stdout) || normalized(got.stderr) != normalized(want.stderr) {
		t.Fatalf("--server run gate:\n%s%s\nlocal:\n%s%s", got.stdout, got.stderr, want.stdout, want.stderr)
	}
	got = s.remote(t, u, "lead", "approve", id, "fix")
	want = s.local(t, "approve", runID(t, want), "fix", "--as", "lead")
	wantCode(t, got, exitFailed, "--server approve by the starter")
	wantCode(t, want, exitFailed, "approve by the starter")
	if normalized(got.stderr) != normalized(want.stderr) || !strings.Contains(got.stderr, "refused: lead started run") {
		t.Fatalf("--server approve by the starter:\n%s\nlocal:\n%s", got.stderr, want.stderr)
	}
	got = s.remote(t, u, "vi", "approve", id, "fix")
	wantCode(t, got, exitFailed, "--server approve as a viewer")
	got = s.remote(t, u, "ap", "approve", id, "fix", "--comment", "checked", "--progress", "plain")
	wantCode(t, got, exitOK, "--server approve")
	for _, w := range []string{"run " + id + " resumed by ap", "fix   approved   approved by ap: checked", "fix   succeeded", "✓ run gate succeeded", "fixed: true"} {
		if !strings.Contains(got.stdout, w) {
			t.Fatalf("--server approve printed no %q:\n%s", w, got.stdout)
		}
	}
	if !strings.Contains(got.stderr, "approved step fix of run "+id+" as ap; the run goes on") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}

	// runs and show print what the local commands print.
	for _, args := range [][]string{{"runs"}, {"runs", "-o", "json"}, {"runs", "--runbook", "gate", "--limit", "1"},
		{"show", id}, {"show", id, "-o", "json"}} {
		got, want := s.remote(t, u, "vi", args...), s.local(t, args...)
		wantCode(t, got, exitOK, "--server "+strings.Join(args, " "))
		if got.stdout != want.stdout {
			t.Fatalf("--server %s:\n%s\nlocal:\n%s", args, got.stdout, want.stdout)
		}
	}
	wantCode(t, s.remote(t, u, "vi", "show", "20261121-101502-3fa9c2d1"), exitInvalid, "--server show of no run")

	// cancel a waiting run: its end shown as a local cancel shows it;
	// again: nothing to cancel; resume: it ended.
	got = s.remote(t, u, "op", "run", "gate")
	wantCode(t, got, exitWaiting, "--server run gate")
	id = runID(t, got)
	got = s.remote(t, u, "op", "cancel", id, "--comment", "not needed", "--progress", "plain")
	wantCode(t, got, exitOK, "--server cancel")
	if !strings.Contains(got.stdout, "⊘ run gate cancelled") {
		t.Fatalf("--server cancel printed:\n%s", got.stdout)
	}
	got = s.remote(t, u, "op", "cancel", id)
	wantCode(t, got, exitOK, "--server cancel again")
	if !strings.Contains(got.stderr, "run "+id+" already ended: cancelled; nothing to cancel") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}
	got = s.remote(t, u, "op", "resume", id)
	wantCode(t, got, exitFailed, "--server resume of a cancelled run")
	if !strings.Contains(got.stderr, "run "+id+" already ended: cancelled; nothing to resume") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}

	// resume a run whose process was killed: the server goes on with it.
	id = killedRun(t, s)
	got = s.remote(t, u, "op", "resume", id, "--progress", "plain")
	wantCode(t, got, exitOK, "--server resume")
	if !strings.Contains(got.stdout, "run "+id+" resumed by op") || !strings.Contains(got.stdout, "✓ run held succeeded") ||
		strings.Contains(got.stdout, "first  running") {
		t.Fatalf("--server resume printed:\n%s", got.stdout)
	}

	// audit: the server's journal verifies; its export verifies alone.
	got = s.remote(t, u, "vi", "audit", "verify")
	wantCode(t, got, exitOK, "--server audit verify")
	if !strings.HasPrefix(got.stdout, "verified ") {
		t.Fatalf("--server audit verify:\n%s", got.stdout)
	}
	got = s.remote(t, u, "vi", "audit", "export")
	wantCode(t, got, exitOK, "--server audit export")
	export := filepath.Join(t.TempDir(), "journal.jsonl")
	writeFile(t, export, got.stdout)
	if !strings.Contains(got.stderr, "exported ") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}
	wantCode(t, run(t, s.cdir, "audit", "verify", "--file", export), exitOK, "audit verify --file of a --server export")
	wantCode(t, s.remote(t, u, "vi", "audit", "checkpoint"), exitInvalid, "--server audit checkpoint")

	if code := s.srv.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.srv.log.String())
	}
}

// TestRemoteRunIDPrefixes: with --server, show, approve, cancel and
// resume take a unique start of a run's id as they do locally, and
// refuse a start that several runs share, or none, with the local
// messages and exit 2.
func TestRemoteRunIDPrefixes(t *testing.T) {
	s := newRemoteSetup(t)
	u := s.url()
	var ids []string
	for range 2 {
		got := s.remote(t, u, "lead", "run", "gate")
		wantCode(t, got, exitWaiting, "--server run gate")
		ids = append(ids, runID(t, got))
	}
	// 20261121-101502-3fa9c2d1: 3fa9c2 is a start of its part after the
	// second dash; both ids start with the same century at least.
	a, b := ids[0], ids[1]
	prefixA, prefixB := a[16:22], b[16:22]
	n := 0
	for n < len(a) && a[n] == b[n] && a[n] != '-' {
		n++
	}
	date := a[:n]

	got, want := s.remote(t, u, "vi", "show", prefixA), s.local(t, "show", prefixA)
	wantCode(t, got, exitOK, "--server show PREFIX")
	if got.stdout != want.stdout || !strings.Contains(got.stdout, a) {
		t.Fatalf("--server show %s:\n%s\nlocal:\n%s", prefixA, got.stdout, want.stdout)
	}
	for _, ref := range []string{date, "0000"} {
		got, want := s.remote(t, u, "vi", "show", ref), s.local(t, "show", ref)
		wantCode(t, got, exitInvalid, "--server show "+ref)
		wantCode(t, want, exitInvalid, "show "+ref)
		if got.stderr != want.stderr {
			t.Fatalf("--server show %s:\n%s\nlocal:\n%s", ref, got.stderr, want.stderr)
		}
	}
	got = s.remote(t, u, "vi", "show", date)
	if !strings.Contains(got.stderr, "is ambiguous: it matches ") || !strings.Contains(got.stderr, a) || !strings.Contains(got.stderr, b) {
		t.Fatalf("--server show %s:\n%s", date, got.stderr)
	}

	got = s.remote(t, u, "ap", "approve", prefixA, "fix", "--progress", "plain")
	wantCode(t, got, exitOK, "--server approve PREFIX")
	if !strings.Contains(got.stderr, "approved step fix of run "+a+" as ap") || !strings.Contains(got.stdout, "✓ run gate succeeded") {
		t.Fatalf("--server approve %s:\n%s%s", prefixA, got.stdout, got.stderr)
	}
	wantCode(t, s.remote(t, u, "ap", "approve", date, "fix"), exitInvalid, "--server approve of an ambiguous start")
	got = s.remote(t, u, "op", "cancel", prefixB, "--progress", "plain")
	wantCode(t, got, exitOK, "--server cancel PREFIX")
	if !strings.Contains(got.stdout, "⊘ run gate cancelled") {
		t.Fatalf("--server cancel %s:\n%s%s", prefixB, got.stdout, got.stderr)
	}
	got = s.remote(t, u, "op", "resume", prefixB)
	wantCode(t, got, exitFailed, "--server resume of a cancelled run")
	if !strings.Contains(got.stderr, "run "+b+" already ended: cancelled; nothing to resume") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}
	got = s.remote(t, u, "op", "resume", "0000")
	wantCode(t, got, exitInvalid, "--server resume of no run")
	if !strings.Contains(got.stderr, "no run 0000 in the journal: steward runs lists them") {
		t.Fatalf("stderr:\n%s", got.stderr)
	}
}

// killedRun starts held, snooze whose doze is a GET that lasts until
// the test lets it end (heldGets), with the CLI on the server's home and
// kills it during its doze, however slow the machine (a 1 s sleep may
// end first): an interrupted run. The doze's next attempt ends at once.
func killedRun(t *testing.T, s *remoteSetup) string {
	t.Helper()
	gets := newHeldGets(t)
	gets.let(2)
	held := strings.Replace(snoozeRunbook, "name: snooze", "name: held", 1)
	held = strings.Replace(held, "action: core.sleep\n    with: {duration: 1s}", "action: http.request\n    with: {url: '"+gets.url+"/doze', timeout: 1h}", 1)
	writeFile(t, filepath.Join(s.dir, "runbooks", "held.yaml"), held)
	cli := exec.Command(steward, "--home", s.home, "run", "held", "--progress", "plain")
	cli.Dir = s.dir
	out := &syncBuffer{}
	cli.Stdout, cli.Stderr = out, out
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Process.Kill() })
	gets.wait(t, 1)
	dozing := regexp.MustCompile(`doze +running`)
	waitFor(t, "doze running", func() bool { return dozing.MatchString(out.String()) })
	if err := cli.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cli.Wait()
	return runID(t, result{stdout: out.String()})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRemoteNoServer: a server that does not answer is named; validate
// and test stay local whatever --server says; a missing token is bad
// usage.
func TestRemoteNoServer(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "hello.yaml"), greetRunbook)
	env := []string{"STEWARD_SERVER=http://127.0.0.1:1", "STEWARD_TOKEN=stw_x"}
	r := homeRun(t, dir, home, env, "runs")
	wantCode(t, r, exitFailed, "--server runs with no server")
	if !strings.Contains(r.stderr, "steward: cannot reach steward serve at http://127.0.0.1:1: ") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
	wantCode(t, homeRun(t, dir, home, env, "validate", "runbooks"), exitOK, "validate with --server set")
	r = homeRun(t, dir, home, []string{"STEWARD_SERVER=http://127.0.0.1:1"}, "show", "x")
	wantCode(t, r, exitInvalid, "--server without a token")
	if !strings.Contains(r.stderr, "needs a bearer token in env STEWARD_TOKEN") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
}

// cutOnce is a proxy before steward serve that cuts the first event
// stream it relays right after its first event, as a network would.
type cutOnce struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	cut   bool
	// resumed are the Last-Event-ID headers of the streams after it.
	resumed []string
}

func (c *cutOnce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/events") {
		c.proxy.ServeHTTP(w, r)
		return
	}
	c.mu.Lock()
	first := !c.cut
	c.cut = true
	if !first {
		c.resumed = append(c.resumed, r.Header.Get("Last-Event-ID"))
	}
	c.mu.Unlock()
	if !first {
		c.proxy.ServeHTTP(w, r)
		return
	}
	c.proxy.ServeHTTP(&cutWriter{ResponseWriter: w}, r)
}

// cutWriter aborts the response after its first event.
type cutWriter struct {
	http.ResponseWriter
	sent strings.Builder
}

func (w *cutWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.sent.Write(b)
	sent := w.sent.String()
	if i := strings.Index(sent, "data: "); i >= 0 && strings.Contains(sent[i:], "\n\n") {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
		panic(http.ErrAbortHandler)
	}
	return n, err
}

func (w *cutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestRemoteRunReconnects: the event stream of a --server run is cut
// after its first event; the CLI connects again with Last-Event-ID and
// shows every state change once, and the run's end.
func TestRemoteRunReconnects(t *testing.T) {
	s := newRemoteSetup(t)
	target, err := url.Parse(s.url())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	rp.ErrorLog = nil
	cut := &cutOnce{proxy: rp}
	proxy := httptest.NewServer(cut)
	defer proxy.Close()

	got := s.remote(t, proxy.URL, "op", "run", "snooze", "--progress", "plain")
	wantCode(t, got, exitOK, "--server run through a proxy that cuts the stream")
	for _, line := range []string{"started", "first  log", "doze   running", "doze   succeeded", "last   succeeded", "✓ run snooze succeeded"} {
		if n := strings.Count(got.stdout, line); n != 1 {
			t.Fatalf("%q printed %d times, want once:\n%s", line, n, got.stdout)
		}
	}
	cut.mu.Lock()
	defer cut.mu.Unlock()
	if len(cut.resumed) == 0 || cut.resumed[0] == "" || cut.resumed[0] == "0" {
		t.Fatalf("the stream was not resumed with Last-Event-ID: %q", cut.resumed)
	}
}

// TestRemoteRunCtrlC: Ctrl-C during a --server run asks the server to
// cancel the run, and shows it end cancelled (exit 1), as locally. The
// doze lasts an hour: the cancel, however slow the machine, reaches it
// while it runs (with 1s, the event's way to the client, the interrupt
// and the cancel's way back to the server raced its end under load).
func TestRemoteRunCtrlC(t *testing.T) {
	s := newRemoteSetupSnooze(t, strings.Replace(snoozeRunbook, "{duration: 1s}", "{duration: 1h}", 1))
	cli := exec.Command(steward, "--home", s.chome, "run", "snooze", "--progress", "plain")
	cli.Dir = s.cdir
	cli.Env = append(os.Environ(), "NO_COLOR=1", "STEWARD_SERVER="+s.url(), "STEWARD_TOKEN="+s.tokens["op"])
	out, errb := &syncBuffer{}, &syncBuffer{}
	cli.Stdout, cli.Stderr = out, errb
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	dozing := regexp.MustCompile(`doze +running`)
	for i := 0; i < 3000 && !dozing.MatchString(out.String()); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cli.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cli.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailed {
		t.Fatalf("exit %v after Ctrl-C:\n%s%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "⊘ run snooze cancelled") || strings.Contains(out.String(), "last   succeeded") ||
		!strings.Contains(errb.String(), "cancelling:") {
		t.Fatalf("after Ctrl-C:\n%s%s", out.String(), errb.String())
	}
	d := showRun(t, s.dir, s.home, runID(t, result{stdout: out.String()}))
	if d.Run.Status != "cancelled" {
		t.Fatalf("the run is %s in the server's journal", d.Run.Status)
	}
}
