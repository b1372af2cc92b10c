package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// elapsedRe matches the real time a case took, as go test prints it.
var elapsedRe = regexp.MustCompile(`\(\d+\.\d\ds\)`)

// testTest runs `steward test ARGS...` in testdata/test and returns stdout
// with elapsed times zeroed, stderr and the exit status.
func testTest(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "test"))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, append([]string{"test"}, args...)...)
	return elapsedRe.ReplaceAllString(r.stdout, "(0.00s)"), r.stderr, r.code
}

func wantOutput(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestTestPass runs a file whose cases pass: approvals granted, denied
// and missing, per-attempt mocks driving a retry, for_each items, undo,
// on_failure, dry-run and expression expectations.
func TestTestPass(t *testing.T) {
	out, errOut, code := testTest(t, "refund.test.yaml")
	wantOutput(t, out, "ok      refund.test.yaml  (7 cases)\n7 passed, 0 failed\n")
	if code != 0 || errOut != "" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestTestVerbose shows every case with -v.
func TestTestVerbose(t *testing.T) {
	out, _, code := testTest(t, "-v", "refund.test.yaml")
	var want strings.Builder
	for _, name := range []string{
		"approved refund notifies every contact", "a lookup timeout is retried", "denied refund fails the run and escalates",
		"without a decision the run waits", "one failed email of three is tolerated", "a refund that fails after it ran is undone",
		"dry run executes nothing that mutates",
	} {
		want.WriteString("=== RUN   refund/" + name + "\n--- PASS: refund/" + name + " (0.00s)\n")
	}
	want.WriteString("ok      refund.test.yaml  (7 cases)\n7 passed, 0 failed\n")
	wantOutput(t, out, want.String())
	if code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestTestRun filters cases by name.
func TestTestRun(t *testing.T) {
	out, _, code := testTest(t, "-v", "--run", "denied|timeout", "refund.test.yaml")
	wantOutput(t, out, `=== RUN   refund/a lookup timeout is retried
--- PASS: refund/a lookup timeout is retried (0.00s)
=== RUN   refund/denied refund fails the run and escalates
--- PASS: refund/denied refund fails the run and escalates (0.00s)
ok      refund.test.yaml  (2 cases)
2 passed, 0 failed
`)
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	out, _, _ = testTest(t, "--run", "^nothing$", "refund.test.yaml")
	wantOutput(t, out, "ok      refund.test.yaml  [no cases to run]\n0 passed, 0 failed\n")

	_, errOut, code := testTest(t, "--run", "(", "refund.test.yaml")
	if code != 2 || !strings.Contains(errOut, "--run: error parsing regexp") {
		t.Errorf("a bad --run: exit %d, stderr %q", code, errOut)
	}
}

// TestTestFailing compares everything printed for failing cases with
// testdata/test/failing/refund.golden (go test -update rewrites it).
func TestTestFailing(t *testing.T) {
	out, errOut, code := testTest(t, "failing")
	got := out + "--- stderr\n" + errOut + "--- exit " + strconv.Itoa(code) + "\n"
	golden := filepath.Join("testdata", "test", "failing", "refund.golden")
	if *update {
		writeFile(t, golden, got)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	wantOutput(t, got, string(want))
}

// TestTestUnmocked fails a case whose run reaches an action without a
// mock, whatever the case expects.
func TestTestUnmocked(t *testing.T) {
	out, _, code := testTest(t, "unmocked")
	wantOutput(t, out, `--- FAIL: refund/the refund is not mocked (0.00s)
    unmocked/refund.test.yaml:4: step refund: action payments.refund is not mocked: add it under mocks (by step id "refund" or action "payments.refund")
FAIL    unmocked/refund.test.yaml
0 passed, 1 failed
`)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

// TestTestInvalid reports an invalid test file at its line, runs the
// other files, and exits 2.
func TestTestInvalid(t *testing.T) {
	out, errOut, code := testTest(t, "invalid", "refund.test.yaml")
	wantOutput(t, out, `invalid/refund.test.yaml:8:9: cases[0].mocks.lookup.output: unknown key "output"
    8 |         output: {status: captured}
      |         ^
  hint: did you mean "outputs"?
FAIL    invalid/refund.test.yaml [invalid]
ok      refund.test.yaml  (7 cases)
7 passed, 0 failed
`)
	if code != 2 || errOut != "steward: 1 test file invalid\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestTestInvalidRunbook fails a test file whose runbook does not
// validate, with the runbook's problems.
func TestTestInvalidRunbook(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "broken.yaml"), "version: 1\nname: broken\nsteps:\n  - id: a\n    action: core.lgo\n")
	writeFile(t, filepath.Join(dir, "broken.test.yaml"), "cases: [{name: a}]\n")
	r := run(t, dir, "test", ".")
	// The runbook's problems are printed as by steward validate (whose
	// wording is tested there), then the test file fails.
	if !strings.HasPrefix(r.stdout, "broken.yaml:5:13: steps[0].action: ") ||
		!strings.HasSuffix(r.stdout, "\nFAIL    broken.test.yaml [invalid]\n0 passed, 0 failed\n") {
		t.Errorf("got:\n%s", r.stdout)
	}
	if r.code != 2 {
		t.Errorf("exit %d", r.code)
	}
}

// TestTestPaths covers the default ./runbooks, a runbook named for its
// test file, and paths holding no tests.
func TestTestPaths(t *testing.T) {
	// The bundled plugins pinned in the home, whose plugin folder comes
	// before ./bin: the runbooks' with are checked against their schemas
	// whatever a developer's ./bin holds.
	r := homeRun(t, "../..", pinnedBundled(t), nil, "test")
	if r.code != 0 || !strings.Contains(r.stdout, "ok      runbooks/check-endpoint.test.yaml  (") {
		t.Errorf("steward test in the repository: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out, _, code := testTest(t, "refund.yaml", "--run", "waits")
	wantOutput(t, out, "ok      refund.test.yaml  (1 case)\n1 passed, 0 failed\n")
	if code != 0 {
		t.Errorf("exit %d", code)
	}

	dir := t.TempDir()
	r = run(t, dir, "test")
	if r.code != 2 || !strings.Contains(r.stderr, "./runbooks does not exist") {
		t.Errorf("no ./runbooks: exit %d, stderr %q", r.code, r.stderr)
	}
	writeFile(t, filepath.Join(dir, "runbooks", "a.yaml"), "version: 1\n")
	r = run(t, dir, "test")
	if r.code != 2 || !strings.Contains(r.stderr, "no test files (*.test.yaml) found in runbooks") {
		t.Errorf("no test files: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestTestDocsExample runs the complete example of docs/runbook-tests.md,
// so that the reference stays true.
func TestTestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/runbook-tests.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "refund.yaml"), between(t, text, "`runbooks/refund.yaml`:\n\n```yaml\n", "```\n"))
	writeFile(t, filepath.Join(dir, "runbooks", "refund.test.yaml"), between(t, text, "`runbooks/refund.test.yaml`:\n\n```yaml\n", "```\n"))
	r := run(t, dir, "test", "-v")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "\n6 passed, 0 failed\n") {
		t.Errorf("the example of docs/runbook-tests.md: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
