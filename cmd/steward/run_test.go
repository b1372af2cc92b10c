package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/run")

var (
	clockRe    = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  `)
	runIDRe    = regexp.MustCompile(`\d{8}-\d{6}-[0-9a-f]{8}`)
	finishedRe = regexp.MustCompile(`(succeeded|failed|cancelled|skipped) +\d[0-9.]*(ns|µs|ms|s|m|h)\b`)
	summaryRe  = regexp.MustCompile(`(?m) in \d[0-9.hmsµn]*$`)
)

// normalize replaces what changes from run to run: clock times, run ids
// and measured durations (not declared ones such as "retrying in 1s").
func normalize(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "DIR")
	s = clockRe.ReplaceAllString(s, "HH:MM:SS  ")
	s = runIDRe.ReplaceAllString(s, "RUN_ID")
	s = finishedRe.ReplaceAllString(s, "$1 DUR")
	return summaryRe.ReplaceAllString(s, " in DUR")
}

// TestRunGolden runs runbooks of testdata/run through `steward run` (plain
// progress, as in CI or a pipe) and compares everything printed and the
// exit status with NAME.golden. Run with -update to rewrite them.
func TestRunGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"order", []string{"--input", "amount=42"}},
		{"failure", []string{"--input", "dir=DIR"}},
		{"continue", nil},
		{"foreach", nil},
		{"timeout", nil},
		{"dryrun", []string{"--input", "dir=DIR", "--dry-run"}},
		{"template-error", nil},
		{"inputs", []string{"--input", "amount=many", "--input", "channel=fax", "--input", "tags=[1,", "--input", "payment_i=x", "--input", "oops"}},
		{"missing-binary", nil},
		{"foreach-nonlist", nil},
		{"run-timeout", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"run", filepath.Join(testdataDir(t), c.name+".yaml")}
			for _, a := range c.args {
				args = append(args, strings.ReplaceAll(a, "DIR", dir))
			}
			r := run(t, dir, args...)
			got := normalize(r.stdout, dir) + "--- stderr\n" + normalize(r.stderr, dir) + "--- exit " + strconv.Itoa(r.code) + "\n"
			got = strings.ReplaceAll(got, testdataDir(t), "testdata/run")
			golden := filepath.Join("testdata", "run", c.name+".golden")
			if *update {
				writeFile(t, golden, got)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("steward %s\ngot:\n%s\nwant:\n%s", strings.Join(c.args, " "), got, want)
			}
		})
	}
}

func testdataDir(t *testing.T) string {
	d, err := filepath.Abs(filepath.Join("testdata", "run"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runJSON runs with -o json and decodes the run document.
func runJSON(t *testing.T, dir string, args ...string) (map[string]any, result) {
	t.Helper()
	r := run(t, dir, append(append([]string{"run"}, args...), "-o", "json")...)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return doc, r
}

func stepStatuses(doc map[string]any) string {
	var parts []string
	for _, s := range doc["steps"].([]any) {
		m := s.(map[string]any)
		id := m["id"].(string)
		if p, _ := m["phase"].(string); p != "" {
			id += "/" + p
		}
		parts = append(parts, id+"="+m["status"].(string))
	}
	return strings.Join(parts, " ")
}

func TestRunFailureUndoesFiles(t *testing.T) {
	dir := t.TempDir()
	doc, r := runJSON(t, dir, filepath.Join(testdataDir(t), "failure.yaml"), "--input", "dir="+dir)
	if r.code != 1 || doc["status"] != "failed" {
		t.Fatalf("exit %d status %v", r.code, doc["status"])
	}
	if got := stepStatuses(doc); got != "grant_a=succeeded grant_b=succeeded check=failed never=skipped grant_b/undo=succeeded grant_a/undo=succeeded escalate/on_failure=succeeded" {
		t.Error(got)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Error("the undo of grant_a did not remove the file it created")
	}
	if _, err := os.Stat(filepath.Join(dir, "never")); !os.IsNotExist(err) {
		t.Error("a step after the failure ran")
	}
}

// TestRunParallelStepsOverlap: the two steps each wait for the other to
// have started, so the run can only succeed if they overlap.
func TestRunParallelStepsOverlap(t *testing.T) {
	dir := t.TempDir()
	doc, r := runJSON(t, dir, filepath.Join(testdataDir(t), "parallel.yaml"), "--input", "dir="+dir)
	if r.code != 0 || stepStatuses(doc) != "left=succeeded right=succeeded both=succeeded" {
		t.Fatalf("exit %d: %s\n%s", r.code, stepStatuses(doc), r.stdout)
	}
	// With one action at a time they cannot meet: each times out.
	doc, r = runJSON(t, dir, filepath.Join(testdataDir(t), "parallel.yaml"), "--input", "dir="+t.TempDir(), "--parallel", "1")
	if r.code != 1 || !strings.Contains(stepStatuses(doc), "=failed") {
		t.Fatalf("with --parallel 1: exit %d: %s", r.code, stepStatuses(doc))
	}
}

func TestRunDryRunCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	doc, r := runJSON(t, dir, filepath.Join(testdataDir(t), "dryrun.yaml"), "--input", "dir="+dir, "--dry-run")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "created")); !os.IsNotExist(err) {
		t.Fatal("dry-run executed exec touch")
	}
	out := doc["outputs"].(map[string]any)
	if out["path"] != filepath.Join(dir, "created") {
		t.Errorf("read-only outputs: %v", out)
	}
	if u, ok := out["exit_code"].(map[string]any); !ok || u["unknown"] != "steps.create did not run (dry-run)" {
		t.Errorf("exit_code should be marked unknown: %v", out["exit_code"])
	}
	// The same run for real creates the file.
	if _, r := runJSON(t, dir, filepath.Join(testdataDir(t), "dryrun.yaml"), "--input", "dir="+dir); r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if _, err := os.Stat(filepath.Join(dir, "created")); err != nil {
		t.Fatal("the real run did not create the file")
	}
}

func TestRunJSONIsOneDocument(t *testing.T) {
	dir := t.TempDir()
	doc, r := runJSON(t, dir, filepath.Join(testdataDir(t), "order.yaml"), "--input", "amount=500", "--as", "ana")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	if doc["actor"] != "ana" || doc["runbook"] != "order" || doc["status"] != "succeeded" {
		t.Errorf("doc = %v", doc)
	}
	if out := doc["outputs"].(map[string]any); out["big"] != "succeeded" || out["status"] != "captured" {
		t.Errorf("outputs = %v", out)
	}
}

func TestRunInputsFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "in.yaml"), "payment_id: pay_abcdef12\namount: 3\ntags: [a, b]\n")
	doc, r := runJSON(t, dir, filepath.Join(testdataDir(t), "inputs.yaml"), "--inputs", "in.yaml", "--input", "amount=7")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	in := doc["inputs"].(map[string]any)
	if in["amount"] != 7.0 || in["channel"] != "email" || in["payment_id"] != "pay_abcdef12" {
		t.Errorf("inputs = %v", in)
	}
}

func TestRunUnknownRunbook(t *testing.T) {
	r := run(t, t.TempDir(), "run", "check-endpont")
	if r.code != 2 || !strings.Contains(r.stderr, `no runbook named "check-endpont"`) || !strings.Contains(r.stderr, `did you mean "check-endpoint"?`) {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

func TestRunInvalidRunbookRunsNothing(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), "version: 1\nname: bad\nsteps:\n  - id: a\n    action: exec\n    with: {comand: [touch, x]}\n")
	r := run(t, dir, "run", "bad.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, `bad.yaml:6:12: steps[0].with.comand: unknown field "comand" for exec`) {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

// TestRunLiveProgress: --progress live (what a terminal gets) redraws the
// running steps in place; NO_COLOR keeps colour codes out.
func TestRunLiveProgress(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "slow.yaml"), "version: 1\nname: slow\nsteps:\n  - id: nap\n    action: exec\n    with: {command: [sleep, '0.3']}\n  - id: done\n    action: core.log\n    with: {message: awake}\n")
	r := run(t, dir, "run", "slow.yaml", "--progress", "live")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"\x1b[1A\x1b[J", "✓ nap   exec", "  done info: awake", "✓ run slow succeeded"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%q", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\x1b[3") {
		t.Errorf("colour despite NO_COLOR: %q", r.stdout)
	}
}

// TestRunSubRunbook: core.runbook runs a runbook of ./runbooks by name and
// returns its outputs; a dry run passes through to the sub-run.
func TestRunSubRunbook(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "child.yaml"), `version: 1
name: child
inputs:
  n: {type: integer, required: true}
  dir: {type: string, required: true}
steps:
  - id: touch
    action: exec
    with: {command: [touch, '${{ inputs.dir }}/child-ran']}
  - id: double
    action: core.set
    with: {v: '${{ inputs.n * 2 }}'}
outputs:
  v: ${{ steps.double.outputs.v }}
`)
	writeFile(t, filepath.Join(dir, "parent.yaml"), `version: 1
name: parent
inputs:
  dir: {type: string, required: true}
steps:
  - id: call
    action: core.runbook
    with: {name: child, inputs: {n: 21, dir: '${{ inputs.dir }}'}}
outputs:
  v: ${{ steps.call.outputs.v }}
`)
	doc, r := runJSON(t, dir, "parent.yaml", "--input", "dir="+dir, "--dry-run")
	if r.code != 0 || doc["outputs"].(map[string]any)["v"] != 42.0 {
		t.Fatalf("dry run: exit %d outputs %v %s", r.code, doc["outputs"], r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "child-ran")); !os.IsNotExist(err) {
		t.Fatal("the dry run's sub-run executed exec")
	}
	doc, r = runJSON(t, dir, "parent.yaml", "--input", "dir="+dir)
	if r.code != 0 || doc["outputs"].(map[string]any)["v"] != 42.0 {
		t.Fatalf("exit %d outputs %v", r.code, doc["outputs"])
	}
	if _, err := os.Stat(filepath.Join(dir, "child-ran")); err != nil {
		t.Fatal("the sub-run did not run")
	}
}

// TestRunHTTPHangAndHuge: a server that never answers fails the step at
// its timeout; one that sends 50 MB fails at the response cap without
// reading it all.
func TestRunHTTPHangAndHuge(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(50<<20))
		chunk := make([]byte, 1<<20)
		for i := 0; i < 50; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "call.yaml"), `version: 1
name: call
inputs:
  url: {type: string, required: true}
steps:
  - id: call
    action: http.request
    with: {url: '${{ inputs.url }}', timeout: 300ms, max_bytes: 1048576}
`)
	// The 50 MB answer gets a timeout a loaded machine meets for its first
	// MiB: it must end for its size, not its time.
	writeFile(t, filepath.Join(dir, "big.yaml"), `version: 1
name: big
inputs:
  url: {type: string, required: true}
steps:
  - id: call
    action: http.request
    with: {url: '${{ inputs.url }}', timeout: 30s, max_bytes: 1048576}
`)
	doc, r := runJSON(t, dir, "call.yaml", "--input", "url="+srv.URL+"/hang")
	if e := doc["error"].(map[string]any); r.code != 1 || e["code"] != "timeout" {
		t.Errorf("hang: exit %d error %v", r.code, e)
	}
	doc, r = runJSON(t, dir, "big.yaml", "--input", "url="+srv.URL+"/huge")
	if e := doc["error"].(map[string]any); r.code != 1 || e["code"] != "response_too_large" {
		t.Errorf("50 MB: exit %d error %v", r.code, e)
	}
}

// TestRunFailureCancelsRunningSteps: when a step fails, a step running in
// parallel is cancelled (and, not having succeeded, is not undone), and
// steps not started are skipped.
func TestRunFailureCancelsRunningSteps(t *testing.T) {
	dir := t.TempDir()
	doc, r := runJSON(t, dir, filepath.Join(testdataDir(t), "failure-parallel.yaml"), "--input", "dir="+dir)
	if r.code != 1 || stepStatuses(doc) != "slow=cancelled check=failed after=skipped" {
		t.Fatalf("exit %d: %s", r.code, stepStatuses(doc))
	}
	if e := doc["error"].(map[string]any); e["step"] != "check" || e["code"] != "exit_status" {
		t.Errorf("error %v", e)
	}
}

// TestRunSubRunbookRecursionBounded: a runbook that calls itself fails
// after a bounded depth instead of running forever.
func TestRunSubRunbookRecursionBounded(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "self.yaml"), "version: 1\nname: self\nsteps:\n  - id: again\n    action: core.runbook\n    with: {name: self}\n")
	doc, r := runJSON(t, dir, "self")
	if e := doc["error"].(map[string]any); r.code != 1 || !strings.Contains(e["message"].(string), "sub-runs nested more than 8 deep") {
		t.Fatalf("exit %d error %v", r.code, doc["error"])
	}
}

// TestRunConfiguredFolders: steward.yaml's runbooks list is where names are
// looked up; a bad config file stops with exit 2.
func TestRunConfiguredFolders(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "shared", "hello.yaml"), "version: 1\nname: hello\nsteps:\n  - id: a\n    action: core.log\n    with: {message: from shared}\n")
	if r := run(t, dir, "run", "hello"); r.code != 2 {
		t.Fatalf("without config: exit %d", r.code)
	}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [shared]\n")
	if r := run(t, dir, "run", "hello"); r.code != 0 || !strings.Contains(r.stdout, "info: from shared") {
		t.Fatalf("with config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	writeFile(t, filepath.Join(dir, "other.yaml"), "runbook: [shared]\n")
	if r := run(t, dir, "run", "hello", "--config", "other.yaml"); r.code != 2 || !strings.Contains(r.stderr, `other.yaml:1:1: runbook: unknown key "runbook"`) {
		t.Fatalf("bad config: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "run", "hello", "--config", "missing.yaml"); r.code != 2 || !strings.Contains(r.stderr, "missing.yaml") {
		t.Fatalf("missing named config: exit %d %s", r.code, r.stderr)
	}
}
