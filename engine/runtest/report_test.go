package runtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBundledRunbooks runs the test files of the bundled library
// (runbooks/*.test.yaml), as `steward test runbooks/` does.
func TestBundledRunbooks(t *testing.T) {
	files, err := Find([]string{"../../runbooks"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum := RunFiles(context.Background(), &out, files, Options{Registry: builtins(t)})
	if sum.Failed > 0 || sum.Invalid > 0 || sum.Passed == 0 {
		t.Fatalf("%+v\n%s", sum, out.String())
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.yaml", "a.test.yaml", "sub/b.test.yml", ".hidden/c.test.yaml", "sub/d.yaml", "e.yaml", "e.test.yml"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Find([]string{dir, filepath.Join(dir, "e.yaml"), filepath.Join(dir, "a.test.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = strings.TrimPrefix(got[i], dir+"/")
	}
	if want := "a.test.yaml e.test.yml sub/b.test.yml"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if _, err := Find([]string{filepath.Join(dir, "sub/d.yaml")}); err == nil || !strings.Contains(err.Error(), "has no test file") {
		t.Errorf("a runbook without tests: %v", err)
	}
	if _, err := Find([]string{filepath.Join(dir, ".hidden")}); err != nil {
		t.Errorf("a hidden folder named explicitly: %v", err)
	}
	if _, err := Find([]string{filepath.Join(dir, "sub", "none")}); err == nil {
		t.Error("a missing path found nothing wrong")
	}
	empty := t.TempDir()
	if _, err := Find([]string{empty}); !errors.Is(err, ErrNoTests) {
		t.Errorf("no tests: %v", err)
	}
}

func TestRunFilesReport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rb.yaml", "version: 1\nname: rb\nsteps:\n  - id: say\n    action: core.set\n    with: {n: 1}\n")
	write("rb.test.yaml", `cases:
  - name: passes
    expect: {steps: {say: {outputs: {n: 1}}}}
  - name: fails
    expect:
      steps:
        say: {outputs: {n: 2}}
`)
	write("bad.test.yaml", "runbook: rb.yaml\ncases:\n  - name: x\n    expect: {statuss: failed}\n")
	files := []string{filepath.Join(dir, "bad.test.yaml"), filepath.Join(dir, "rb.test.yaml")}
	elapsed := regexp.MustCompile(`\(\d+\.\d\ds\)`)

	report := func(opts Options) (string, Summary) {
		var out bytes.Buffer
		opts.Registry = builtins(t)
		sum := RunFiles(context.Background(), &out, files, opts)
		return strings.ReplaceAll(elapsed.ReplaceAllString(out.String(), "(0.00s)"), dir+"/", ""), sum
	}
	got, sum := report(Options{})
	want := `bad.test.yaml:4:14: cases[0].expect.statuss: unknown key "statuss"
    4 |     expect: {statuss: failed}
      |              ^
  hint: did you mean "status"?
FAIL    bad.test.yaml [invalid]
--- FAIL: rb/fails (0.00s)
    rb.test.yaml:7: expect.steps.say.outputs.n: got 1, want 2
FAIL    rb.test.yaml
1 passed, 1 failed
`
	if got != want || sum != (Summary{Passed: 1, Failed: 1, Invalid: 1}) {
		t.Errorf("got %+v\n%s\nwant\n%s", sum, got, want)
	}

	files = files[1:]
	got, _ = report(Options{Verbose: true, Run: regexp.MustCompile(`^rb/pass`)})
	want = `=== RUN   rb/passes
--- PASS: rb/passes (0.00s)
ok      rb.test.yaml  (1 case)
1 passed, 0 failed
`
	if got != want {
		t.Errorf("verbose, filtered: got\n%s\nwant\n%s", got, want)
	}
	got, _ = report(Options{Run: regexp.MustCompile(`nothing`)})
	if want := "ok      rb.test.yaml  [no cases to run]\n0 passed, 0 failed\n"; got != want {
		t.Errorf("no match: got\n%s\nwant\n%s", got, want)
	}
}
