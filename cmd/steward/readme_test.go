package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// readmeFolder is a working folder like the repository's after `make
// build`: the bundled plugins in ./bin and the reference plugin's runbook
// at its path.
func readmeFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"access", "evm", "example", "notify", "payments"} {
		b, err := os.ReadFile(pluginBins[name])
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "bin", "steward-plugin-"+name)
		writeFile(t, path, string(b))
		if err := os.Chmod(path, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rb, err := os.ReadFile("../../plugins/example/runbooks/tx-check.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "plugins", "example", "runbooks", "tx-check.yaml"), string(rb))
	return dir
}

// runShown runs README commands (./bin/steward ...) in dir with one home,
// and checks that every line the README shows for them is printed: run
// summaries without their duration, checksums from "sha256:…" on.
func runShown(t *testing.T, dir, home string, cmds []string, shown string) {
	t.Helper()
	var out strings.Builder
	for _, c := range cmds {
		args, ok := strings.CutPrefix(c, "./bin/steward ")
		if !ok {
			t.Fatalf("README command %q does not run ./bin/steward", c)
		}
		r := homeRun(t, dir, home, nil, strings.Fields(args)...)
		wantCode(t, r, exitOK, c)
		out.WriteString(r.stdout)
	}
	printed := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		line = summaryRe.ReplaceAllString(line, "")
		if i := strings.Index(line, " sha256:"); i >= 0 && strings.HasPrefix(line, "+ ") {
			line = line[:i+len(" sha256:")] + "…"
		}
		printed[line] = true
	}
	for _, line := range strings.Split(strings.TrimSpace(shown), "\n") {
		if !printed[line] {
			t.Errorf("README shows %q, but steward prints\n%s", line, out.String())
		}
	}
}

// TestReadmeQuickstart runs the README's examples and compares the output
// they show, so the README stays true.
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

	// The quickstart's first command builds (done: the test binaries),
	// pins the bundled plugins and runs a bundled runbook on their
	// sandbox backends, then the card payment example.
	first := between(t, text, "```sh\nmake build && ", "\n")
	cmds := strings.Split(first, " && ")
	shownRun := between(t, text, first+"\n```\n\n```\n", "```\n")
	dir, home := readmeFolder(t), t.TempDir()
	runShown(t, dir, home, cmds, shownRun)
	card := "./bin/steward run card-payment-failure " + between(t, text, "./bin/steward run card-payment-failure ", "\n")
	runShown(t, dir, home, []string{card, card + " --input language=zh"}, "")
	if lang := between(t, text, "Simplified Chinese: add `", "`"); lang != "--input language=zh" {
		t.Errorf("README says to add %q for Chinese", lang)
	}
}

// TestReadmePlugins runs the README's plugin example in a home where the
// quickstart pinned the bundled plugins.
func TestReadmePlugins(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := between(t, string(readme), "## Plugins\n", "## Commands\n")
	cmds := strings.Split(strings.TrimSpace(between(t, block, "```sh\n", "```\n")), "\n")
	shown := between(t, block, "```\n\n```\n", "```\n")
	dir, home := readmeFolder(t), t.TempDir()
	wantCode(t, homeRun(t, dir, home, nil, "plugins", "lock"), exitOK, "plugins lock")
	runShown(t, dir, home, cmds, shown)
	// The section's other commands (the access runbooks) run too.
	others := strings.Split(block, "```sh\n")[2:]
	if len(others) == 0 {
		t.Fatal("README's Plugins section lost its access runbook commands")
	}
	for _, o := range others {
		for _, c := range strings.Split(strings.TrimSpace(o[:strings.Index(o, "```")]), "\n") {
			args, ok := strings.CutPrefix(c, "./bin/steward ")
			if !ok {
				t.Fatalf("README command %q does not run ./bin/steward", c)
			}
			wantCode(t, homeRun(t, dir, home, nil, strings.Fields(args)...), exitOK, c)
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
