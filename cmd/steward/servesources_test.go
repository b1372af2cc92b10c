package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/runbooks/sources/gittest"
)

// tickRunbook fires every second.
const tickRunbook = `version: 1
name: tick
schedule:
  - cron: "* * * * * *"
steps:
  - id: say
    action: core.log
    with: {message: tick}
`

// TestServeSources is issue 20's item 5 through the binary: steward
// serve polls a local Git source (poll: 1s), so a commit on the
// repository's main branch is pinned without a command and shows in
// GET /api/v1/sources; a run started over the API records the pinned
// commit and blob; a scheduled runbook added by a commit starts firing
// from the pin. A second source without poll: is synced by a signed
// GitHub push webhook to /hooks/github-sources (202; a bad signature is
// 401), and a push starts no run. The push is built as GitHub's webhook
// documentation describes (X-GitHub-Event, X-Hub-Signature-256): GitHub
// is not reachable here.
func TestServeSources(t *testing.T) {
	polled := gittest.New(t)
	first := polled.Commit("first", map[string]string{"runbooks/hello.yaml": helloRunbook("v1"), "runbooks/files/data.json": `{"x": 1}`})
	pushed := gittest.New(t)
	bye := pushed.Commit("bye", map[string]string{"bye.yaml": "version: 1\nname: bye\nsteps:\n  - id: say\n    action: core.log\n    with: {message: bye}\n"})

	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), `sources:
  - name: ops
    git: `+polled.Dir+`
    ref: main
    path: runbooks
    poll: 1s
  - name: pushed
    git: `+pushed.Dir+`
    ref: main
server:
  sources_hook_secret: {secret: SOURCES_HOOK}
`)
	sh := func(code int, args ...string) result {
		t.Helper()
		r := homeRun(t, dir, home, nil, args...)
		wantCode(t, r, code, strings.Join(args, " "))
		return r
	}
	token := strings.TrimSpace(sh(0, "tokens", "create", "ci", "--role", "operator").stdout)
	t.Setenv("STEWARD_SECRET_SOURCES_HOOK", "s3cret")
	srv := startServe(t, dir, home)
	api := func(method, path string, body any, out any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, "http://"+srv.addr+path, rd)
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
		if out != nil && res.StatusCode < 300 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v\n%s", method, path, err, b)
			}
		}
		return res.StatusCode
	}
	type pins struct {
		Sources []struct {
			Source string
			Pin    *struct{ Commit string }
		}
	}
	pinOf := func(name string) string {
		t.Helper()
		var l pins
		if code := api("GET", "/api/v1/sources", nil, &l); code != 200 {
			t.Fatalf("GET /api/v1/sources: %d", code)
		}
		for _, s := range l.Sources {
			if s.Source == name && s.Pin != nil {
				return s.Pin.Commit
			}
		}
		return ""
	}

	// The first poll pins main's head at once; the pushed source waits
	// for a push.
	srv.waitLog(t, `msg=pinned component=sources source=ops commit=`+first)
	if got, none := pinOf("ops"), pinOf("pushed"); got != first || none != "" {
		t.Fatalf("pins %q %q; want ops at %s and pushed unpinned", got, none, first)
	}

	// A commit on main, with a scheduled runbook, is polled and pinned.
	second := polled.Commit("second", map[string]string{"runbooks/hello.yaml": helloRunbook("v2"), "runbooks/tick.yaml": tickRunbook})
	srv.waitLog(t, `msg=pinned component=sources source=ops commit=`+second+` previous=`+first)
	if got := pinOf("ops"); got != second {
		t.Fatalf("pin %s after the poll; want %s", got, second)
	}

	// A run started over the API reads the pinned commit.
	var started struct{ ID string }
	if code := api("POST", "/api/v1/runs", map[string]any{"runbook": "hello"}, &started); code != 202 {
		t.Fatalf("POST /api/v1/runs: %d\n%s", code, srv.log.String())
	}
	waitAPIStatus(t, api, started.ID, "succeeded")
	checkOrigin(t, sh, started.ID, second, polled.Git("rev-parse", second+":runbooks/hello.yaml"), polled.Dir)

	// The scheduled runbook of the new pin fires, from the pin.
	srv.waitLog(t, `msg="schedule: scheduled" schedule=tick`)
	var ticks struct{ Runs []struct{ ID, Status string } }
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline) && len(ticks.Runs) == 0; {
		if code := api("GET", "/api/v1/runs?runbook=tick", nil, &ticks); code != 200 {
			t.Fatalf("GET /api/v1/runs: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(ticks.Runs) == 0 {
		t.Fatalf("tick never fired:\n%s", srv.log.String())
	}
	var shown shownOrigin
	if err := json.Unmarshal([]byte(sh(0, "show", ticks.Runs[0].ID, "-o", "json").stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if o := shown.Origin; o.Source != "ops" || o.Commit != second || o.Path != "runbooks/tick.yaml" {
		t.Fatalf("tick's origin %+v; want ops@%s:runbooks/tick.yaml", o, second)
	}

	// A signed push syncs the source it concerns (and starts no run); a
	// bad signature is refused.
	push := `{"ref":"refs/heads/main","after":"` + bye + `","repository":{"id":1,"name":"pushed","full_name":"acme/pushed","clone_url":"` + pushed.Dir + `"}}`
	hook := func(sig string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", "http://"+srv.addr+"/hooks/github-sources", strings.NewReader(push))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := hook(sign256("wrong", push)); code != 401 {
		t.Fatalf("bad signature: %d %s", code, body)
	}
	if code, body := hook(sign256("s3cret", push)); code != 202 || body != `{"syncing":["pushed"]}` {
		t.Fatalf("push: %d %s", code, body)
	}
	srv.waitLog(t, `msg=pinned component=sources source=pushed commit=`+bye)
	if got := pinOf("pushed"); got != bye {
		t.Fatalf("pushed's pin %q; want %s", got, bye)
	}
	var byes struct{ Runs []struct{ ID string } }
	if code := api("GET", "/api/v1/runs?runbook=bye", nil, &byes); code != 200 || len(byes.Runs) != 0 {
		t.Fatalf("a push started a run: %d %+v", code, byes)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, srv.log.String())
	}
	if regexp.MustCompile(`level=(ERROR|WARN) msg="?sync`).MatchString(srv.log.String()) {
		t.Fatalf("a sync failed:\n%s", srv.log.String())
	}
	sh(0, "audit", "verify")
}

// TestServeBadSecretsConfig: steward serve does not start (exit 2) when
// the push webhook's secret or the console's session key is named but not
// set (or too short), written in clear, or with a webhook of webhooks:
// named github-sources (its route is the sources').
func TestServeBadSecretsConfig(t *testing.T) {
	for yaml, want := range map[string]string{
		"server: {sources_hook_secret: {secret: NOT_SET_ANYWHERE}}\n":                               "server.sources_hook_secret: STEWARD_SECRET_NOT_SET_ANYWHERE is not set",
		"webhooks: [{name: github-sources, runbook: hello, verify: github, secret: {secret: S}}]\n": `steward.yaml:1:12: webhooks[0].name: webhook name "github-sources" is reserved`,
		"server: {session_key: {secret: NOT_SET_ANYWHERE}}\n":                                       "server.session_key: STEWARD_SECRET_NOT_SET_ANYWHERE is not set",
		"server: {session_key: {secret: SHORT_KEY}}\n":                                              "server.session_key: STEWARD_SECRET_SHORT_KEY is 5 bytes: a session key needs 32 or more",
		"server: {session_key: abcdefghijabcdefghijabcdefghijab}\n":                                 "steward.yaml:1:23: server.session_key: write {secret: NAME}: the console's session key is never written in steward.yaml",
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "steward.yaml"), yaml)
		r := homeRun(t, dir, t.TempDir(), []string{"STEWARD_SECRET_SHORT_KEY=short"}, "serve", "--listen", "127.0.0.1:0")
		wantCode(t, r, exitInvalid, "serve with "+yaml)
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", yaml, want, r.stderr)
		}
	}
}

// waitAPIStatus waits (at most waitLimit) for run id to reach status,
// over the API.
func waitAPIStatus(t *testing.T, api func(method, path string, body, out any) int, id, status string) {
	t.Helper()
	var run struct{ Run struct{ Status string } }
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); {
		if code := api("GET", "/api/v1/runs/"+id, nil, &run); code != 200 {
			t.Fatalf("GET /api/v1/runs/%s: %d", id, code)
		}
		if run.Run.Status == status {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %s is %s; want %s", id, run.Run.Status, status)
}

// sign256 is X-Hub-Signature-256 of body with secret, as GitHub signs
// a webhook's payload.
func sign256(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
