package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReadmeQuickstart runs the README's example and compares the output it
// shows, so the README stays true.
func TestReadmeQuickstart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	doc := between(t, text, "cat > /tmp/refund.yaml <<'YAML'\n", "YAML\n")
	shown := between(t, text, "./bin/steward validate /tmp/refund.yaml; echo \"exit $?\"\n```\n\n```\n", "```\n")

	dir := t.TempDir()
	file := filepath.Join(dir, "refund.yaml")
	writeFile(t, file, doc)
	r := run(t, dir, "validate", file)
	got := strings.ReplaceAll(r.stdout+r.stderr, file, "/tmp/refund.yaml") + "exit " + strconv.Itoa(r.code) + "\n"
	if got != shown {
		t.Fatalf("README shows\n%s\nbut steward prints\n%s", shown, got)
	}

	// The quickstart's first command runs a bundled runbook: every line the
	// README shows is printed (the summary without its duration).
	first := between(t, text, "make build && ./bin/steward ", "\n")
	shownRun := between(t, text, first+"\n```\n\n```\n", "```\n")
	r = run(t, "../..", strings.Fields(first)...)
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", first, r.code, r.stdout, r.stderr)
	}
	printed := map[string]bool{}
	for _, line := range strings.Split(r.stdout, "\n") {
		printed[summaryRe.ReplaceAllString(line, "")] = true
	}
	for _, line := range strings.Split(strings.TrimSpace(shownRun), "\n") {
		if !printed[line] {
			t.Errorf("README shows %q, but %s prints\n%s", line, first, r.stdout)
		}
	}
}

// TestReadmePlugins runs the README's plugin example: lock the reference
// plugin found in ./bin, then run the runbook that uses it.
func TestReadmePlugins(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	block := between(t, text, "## Plugins\n", "## Commands\n")
	cmds := strings.Split(strings.TrimSpace(between(t, block, "```sh\n", "```\n")), "\n")
	shown := between(t, block, "```\n\n```\n", "```\n")
	if len(cmds) != 2 {
		t.Fatalf("README's plugin example has %d commands, want lock and run", len(cmds))
	}
	// A working folder like the repository's: the plugin in ./bin, the
	// runbook at its path.
	dir, home := t.TempDir(), t.TempDir()
	b, err := os.ReadFile(pluginBins["example"])
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "bin", "steward-plugin-example"), string(b))
	if err := os.Chmod(filepath.Join(dir, "bin", "steward-plugin-example"), 0o755); err != nil {
		t.Fatal(err)
	}
	rb, err := os.ReadFile("../../plugins/example/runbooks/tx-check.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "plugins", "example", "runbooks", "tx-check.yaml"), string(rb))
	var out strings.Builder
	for _, c := range cmds {
		r := homeRun(t, dir, home, nil, strings.Fields(strings.TrimPrefix(c, "./bin/steward "))...)
		wantCode(t, r, exitOK, c)
		out.WriteString(r.stdout)
	}
	printed := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		line = summaryRe.ReplaceAllString(line, "")
		if strings.HasPrefix(line, "+ example ") {
			line = line[:strings.Index(line, "sha256:")+len("sha256:")] + "…"
		}
		printed[line] = true
	}
	for _, line := range strings.Split(strings.TrimSpace(shown), "\n") {
		if !printed[line] {
			t.Errorf("README shows %q, but steward prints\n%s", line, out.String())
		}
	}
}

func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("README has no %q", start)
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		t.Fatalf("README has no %q after %q", end, start)
	}
	return s[:j]
}
