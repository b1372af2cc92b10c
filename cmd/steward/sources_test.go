package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/runbooks/sources/githubtest"
	"github.com/stewardhq/steward/runbooks/sources/gittest"
)

// helloRunbook reads a data file beside it and says word.
func helloRunbook(word string) string {
	return `version: 1
name: hello
steps:
  - id: read
    action: core.read_file
    with: {path: files/data.json}
  - id: say
    action: core.log
    with: {message: "` + word + ` ${{ steps.read.outputs.text }}"}
`
}

// brokenHello needs a step that does not exist (line 6).
const brokenHello = `version: 1
name: hello
steps:
  - id: say
    action: core.log
    needs: [nowhere]
    with: {message: hi}
`

type shownOrigin struct {
	Origin struct {
		File, Commit, Source, Repo, Path, Blob string
	} `json:"origin"`
}

// TestSourcesAcceptance is issue 20's acceptance through the binary: a
// change pushed to main of a repository served over Git's smart HTTP
// protocol is picked up, validated and pinned; a broken change is refused
// with its diagnostics and the old pin keeps running; a run records the
// exact commit and blob; a commit off the protected branch is refused.
func TestSourcesAcceptance(t *testing.T) {
	srv := gittest.Serve(t)
	url := srv.Bare(t, "runbooks")
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": helloRunbook("v1"), "runbooks/files/data.json": `{"x": 1}`})
	repo.Git("push", "--quiet", url, "main")

	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), `sources:
  - name: ops
    git: `+url+`
    ref: main
    path: runbooks
    protected_branch: main
    allow_refs: [feature]
`)
	sh := func(code int, args ...string) result {
		t.Helper()
		r := homeRun(t, dir, home, nil, args...)
		wantCode(t, r, code, strings.Join(args, " "))
		return r
	}

	r := sh(0, "sources", "sync")
	if want := "ops: pinned " + first[:12] + " at main: 1 runbook valid; 2 added, 0 changed, 0 removed\n"; r.stdout != want {
		t.Fatalf("first sync: %q, want %q", r.stdout, want)
	}
	r = sh(0, "runbooks")
	if want := "ops@" + first[:12] + ":runbooks/hello.yaml"; !strings.Contains(r.stdout, want) {
		t.Fatalf("steward runbooks lacks %q:\n%s", want, r.stdout)
	}
	if r = sh(0, "run", "hello", "--help"); !strings.Contains(r.stdout, "hello\n  ops@"+first[:12]+":runbooks/hello.yaml") {
		t.Fatalf("run hello --help:\n%s", r.stdout)
	}
	ranFirst := sh(0, "run", "hello")
	checkOrigin(t, sh, runID(t, ranFirst), first, repo.Git("rev-parse", first+":runbooks/hello.yaml"), url)

	// A broken change pushed to main is refused; the pin stays.
	bad := repo.Commit("broken", map[string]string{"runbooks/hello.yaml": brokenHello})
	repo.Git("push", "--quiet", url, "main")
	r = sh(2, "sources", "sync", "ops")
	wantDiag := "ops@" + bad[:12] + `:runbooks/hello.yaml:6:13: steps[0].needs: unknown step "nowhere" in needs`
	if !strings.HasPrefix(r.stdout, wantDiag+"\n") {
		t.Fatalf("broken sync stdout:\n%s\nwant it to start %q", r.stdout, wantDiag)
	}
	if want := "ops: refused " + bad[:12] + " (main): the commit has invalid runbooks: 1 problem; the pin stays " + first[:12] + "\n"; r.stderr != want {
		t.Fatalf("broken sync stderr %q, want %q", r.stderr, want)
	}
	r = sh(0, "run", "hello")
	if !strings.Contains(r.stdout, "v1 {\"x\": 1}") {
		t.Fatalf("the old pin should run:\n%s", r.stdout)
	}
	checkOrigin(t, sh, runID(t, r), first, repo.Git("rev-parse", first+":runbooks/hello.yaml"), url)
	r = sh(0, "sources", "status")
	for _, want := range []string{"pin     " + first, "head    " + bad + ": 0 added, 1 changed, 0 removed since the pin", "M runbooks/hello.yaml", wantDiag} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("status lacks %q:\n%s", want, r.stdout)
		}
	}

	// Fixed: the new commit is pinned and runs.
	fixed := repo.Commit("fixed", map[string]string{"runbooks/hello.yaml": helloRunbook("v2")})
	repo.Git("push", "--quiet", url, "main")
	sh(0, "sources", "sync")
	r = sh(0, "run", "hello")
	checkOrigin(t, sh, runID(t, r), fixed, repo.Git("rev-parse", fixed+":runbooks/hello.yaml"), url)

	// A commit off the protected branch cannot run, even where allow_refs
	// names its branch.
	repo.Git("checkout", "--quiet", "-b", "feature")
	off := repo.Commit("unreviewed", map[string]string{"runbooks/hello.yaml": helloRunbook("sneaky")})
	repo.Git("push", "--quiet", url, "feature")
	sh(0, "sources", "sync") // fetches feature too; the pin stays main's
	r = sh(2, "run", "hello@feature")
	if want := "commit " + off[:12] + " is not reachable from main"; !strings.Contains(r.stderr, want) {
		t.Fatalf("off main: %s", r.stderr)
	}
	r = sh(2, "run", "hello@v9")
	if !strings.Contains(r.stderr, `ops allows no run of "v9"`) {
		t.Fatalf("ref not allowed: %s", r.stderr)
	}
	// Merged into main, the branch's commit runs by name@ref.
	repo.Git("checkout", "--quiet", "main")
	repo.Git("merge", "--quiet", "--ff-only", "feature")
	repo.Git("push", "--quiet", url, "main")
	sh(0, "sources", "sync")
	r = sh(0, "run", "hello@feature")
	checkOrigin(t, sh, runID(t, r), off, repo.Git("rev-parse", off+":runbooks/hello.yaml"), url)

	var list []struct {
		Source string
		Pin    struct{ Commit string }
	}
	if err := json.Unmarshal([]byte(sh(0, "sources", "list", "-o", "json").stdout), &list); err != nil || len(list) != 1 || list[0].Pin.Commit != off {
		t.Fatalf("list: %+v %v", list, err)
	}
	sh(0, "audit", "verify")
}

func checkOrigin(t *testing.T, sh func(int, ...string) result, id, commit, blob, repo string) {
	t.Helper()
	var d shownOrigin
	if err := json.Unmarshal([]byte(sh(0, "show", id, "-o", "json").stdout), &d); err != nil {
		t.Fatal(err)
	}
	o := d.Origin
	if o.Commit != commit || o.Blob != blob || o.Source != "ops" || o.Path != "runbooks/hello.yaml" || o.Repo != repo {
		t.Fatalf("origin %+v, want commit %s blob %s", o, commit, blob)
	}
	text := sh(0, "show", id).stdout
	for _, want := range []string{"commit    " + commit, "source    ops (" + repo + ")", "path      runbooks/hello.yaml (blob " + blob + ")"} {
		if !strings.Contains(text, want) {
			t.Fatalf("show lacks %q:\n%s", want, text)
		}
	}
}

// TestSourcesUnsignedRefused: a source that requires SSH signatures
// pins a commit signed by an allowed key and refuses an unsigned one.
func TestSourcesUnsignedRefused(t *testing.T) {
	repo := gittest.New(t)
	key := gittest.NewKey(t)
	signed := repo.CommitSigned("signed", key, map[string]string{"runbooks/hello.yaml": helloRunbook("v1"), "runbooks/files/data.json": "{}"})
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), `sources:
  - name: ops
    git: `+repo.Dir+`
    path: runbooks
    signature: ssh
    signers: `+key.AllowedSigners+`
`)
	r := homeRun(t, dir, home, nil, "sources", "sync")
	wantCode(t, r, 0, "signed")
	unsigned := repo.Commit("unsigned", map[string]string{"runbooks/hello.yaml": helloRunbook("v2")})
	r = homeRun(t, dir, home, nil, "sources", "sync")
	wantCode(t, r, 2, "unsigned")
	if want := "ops: refused " + unsigned[:12] + " (main): commit not signed by an allowed key: commit " + unsigned[:12]; !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("stderr %q, want it to start %q", r.stderr, want)
	}
	r = homeRun(t, dir, home, nil, "run", "hello")
	wantCode(t, r, 0, "run")
	if !strings.Contains(r.stdout, "v1") {
		t.Fatalf("the signed pin should run: %s", r.stdout)
	}
	var d shownOrigin
	json.Unmarshal([]byte(homeRun(t, dir, home, nil, "show", runID(t, r), "-o", "json").stdout), &d)
	if d.Origin.Commit != signed {
		t.Fatalf("ran %s, want %s", d.Origin.Commit, signed)
	}
}

func TestSourcesConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [https://github.com/acme/runbooks]\n")
	r := run(t, dir, "run", "hello")
	wantCode(t, r, 2, "URL in runbooks")
	if !strings.Contains(r.stderr, `steward.yaml:1:12: runbooks[0]: runbooks lists folders; "https://github.com/acme/runbooks" is a URL`) ||
		!strings.Contains(r.stderr, "hint: declare a Git or GitHub source") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "sources: [{name: ops, folder: runbooks}]\n")
	r = run(t, dir, "sources", "sync", "opz")
	wantCode(t, r, 2, "unknown source")
	if !strings.Contains(r.stderr, `no source named "opz"`) || !strings.Contains(r.stderr, `did you mean "ops"?`) {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
}

// TestValidateGitHubStatus: steward validate --github-status posts the
// commit status steward/validate. GitHub is not reachable from the
// tests: the server is an httptest server answering POST
// /repos/OWNER/NAME/statuses/SHA as GitHub's REST documentation shows
// (201 with the status).
func TestValidateGitHubStatus(t *testing.T) {
	var mu sync.Mutex
	var posted []map[string]any
	var auth []string
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || !strings.HasPrefix(r.URL.Path, "/repos/acme/runbooks/statuses/") {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		body["sha"] = strings.TrimPrefix(r.URL.Path, "/repos/acme/runbooks/statuses/")
		mu.Lock()
		posted, auth = append(posted, body), append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		w.Write(b)
	}))
	defer gh.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "hello.yaml"), helloRunbook("v1"))
	writeFile(t, filepath.Join(dir, "broken", "hello.yaml"), brokenHello)
	sha := strings.Repeat("ab", 20)
	env := []string{"GITHUB_TOKEN=tok", "GITHUB_REPOSITORY=acme/runbooks", "GITHUB_SHA=" + sha, "GITHUB_API_URL=" + gh.URL}
	r := homeRun(t, dir, t.TempDir(), env, "validate", "--github-status", "runbooks")
	wantCode(t, r, 0, "valid")
	r = homeRun(t, dir, t.TempDir(), env, "validate", "--github-status", "broken")
	wantCode(t, r, 2, "invalid")
	if !strings.Contains(r.stderr, "posted failure to acme/runbooks@"+sha[:12]+" as steward/validate: 1 problem in 1 file of 1 runbook") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
	want := `[{"context":"steward/validate","description":"1 runbook valid","sha":"` + sha + `","state":"success"},{"context":"steward/validate","description":"1 problem in 1 file of 1 runbook","sha":"` + sha + `","state":"failure"}]`
	if b, _ := json.Marshal(posted); string(b) != want || auth[0] != "Bearer tok" {
		t.Fatalf("posted %s (auth %v), want %s", b, auth, want)
	}
	r = homeRun(t, dir, t.TempDir(), []string{"GITHUB_TOKEN=", "GITHUB_REPOSITORY=", "GITHUB_SHA="}, "validate", "--github-status", "runbooks")
	wantCode(t, r, 2, "missing flags")
	if !strings.Contains(r.stderr, "--github-status needs --github-repo OWNER/NAME") || !strings.Contains(r.stderr, "GITHUB_TOKEN") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
}

// TestSourcesApprovedRunReadsPinnedFiles: a run of a pinned runbook that
// waits for an approval goes on with the data files of its commit, even
// after the source moved on.
func TestSourcesApprovedRunReadsPinnedFiles(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/files/data.json": `{"v": 1}`, "runbooks/gated.yaml": `version: 1
name: gated
steps:
  - id: ok
    action: core.log
    approval: {message: "go on"}
    with: {message: approved}
  - id: read
    action: core.read_file
    with: {path: files/data.json}
outputs:
  data: ${{ steps.read.outputs.text }}
`})
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "sources:\n  - {name: ops, git: "+repo.Dir+", path: runbooks}\n")
	wantCode(t, homeRun(t, dir, home, nil, "sources", "sync"), 0, "sync")
	r := homeRun(t, dir, home, nil, "run", "gated", "--as", "ana")
	wantCode(t, r, 3, "waits")
	id := runID(t, r)
	repo.Commit("second", map[string]string{"runbooks/files/data.json": `{"v": 2}`})
	wantCode(t, homeRun(t, dir, home, nil, "sources", "sync"), 0, "sync again")
	wantCode(t, homeRun(t, dir, home, nil, "approve", id, "ok", "--as", "bruno"), 0, "approve")
	var d struct {
		Outputs map[string]any `json:"outputs"`
		shownOrigin
	}
	json.Unmarshal([]byte(homeRun(t, dir, home, nil, "show", id, "-o", "json").stdout), &d)
	if d.Outputs["data"] != `{"v": 1}` || d.Origin.Commit != first {
		t.Fatalf("outputs %v from %s, want the first commit's data file", d.Outputs, d.Origin.Commit)
	}
}

// TestSourcesGitHub: a github: source through the binary, against
// githubtest's server (GitHub is not reachable from the tests: it answers
// with the shapes of GitHub's REST documentation). The token comes from
// STEWARD_SECRET_NAME, the API from base_url; a sync pins and posts
// steward/validate; a run records the repository, commit and blob.
func TestSourcesGitHub(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": helloRunbook("v1"), "runbooks/files/data.json": `{"gh": 1}`})
	gh := githubtest.New(t, repo, "ghs_secret")
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), `sources:
  - name: cloud
    github: acme/runbooks
    path: runbooks
    token: {secret: GH}
    base_url: `+gh.URL+`/
`)
	env := []string{"STEWARD_SECRET_GH=ghs_secret"}
	r := homeRun(t, dir, home, env, "sources", "sync")
	wantCode(t, r, 0, "sync")
	bad := repo.Commit("broken", map[string]string{"runbooks/hello.yaml": brokenHello})
	r = homeRun(t, dir, home, env, "sources", "sync")
	wantCode(t, r, 2, "broken")
	r = homeRun(t, dir, home, env, "run", "hello")
	wantCode(t, r, 0, "run")
	if !strings.Contains(r.stdout, `v1 {"gh": 1}`) || strings.Contains(r.stdout, "ghs_secret") {
		t.Fatalf("run:\n%s", r.stdout)
	}
	var d shownOrigin
	json.Unmarshal([]byte(homeRun(t, dir, home, env, "show", runID(t, r), "-o", "json").stdout), &d)
	if o := d.Origin; o.Source != "cloud" || o.Repo != "acme/runbooks" || o.Commit != first || o.Blob != repo.Git("rev-parse", first+":runbooks/hello.yaml") {
		t.Fatalf("origin %+v", o)
	}
	var got []string
	for _, st := range gh.Statuses() {
		got = append(got, st["state"].(string)+" "+st["sha"].(string))
	}
	if want := "success " + first + ",failure " + bad; strings.Join(got, ",") != want {
		t.Fatalf("statuses %v, want %s", got, want)
	}
	// Without the token GitHub answers 401, and steward says so.
	r = homeRun(t, dir, home, nil, "sources", "sync")
	wantCode(t, r, 1, "no token")
	if !strings.Contains(r.stderr, "GitHub refused the credentials (401 Bad credentials): check the token of source cloud") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}
