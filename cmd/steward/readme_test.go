package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeFolder is a working folder like the repository's after `make
// build`: the bundled plugins in ./bin and the reference plugin's runbook
// at its path.
func readmeFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"access", "evm", "example", "helpdesk", "notify", "observability", "payments"} {
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
// summaries without their duration, checksums from "sha256:…" on; and
// that every plugin pinned is shown.
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
	shownLines := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(shown), "\n") {
		shownLines[line] = true
		if !printed[line] {
			t.Errorf("README shows %q, but steward prints\n%s", line, out.String())
		}
	}
	for line := range printed {
		if strings.HasPrefix(line, "+ ") && shown != "" && !shownLines[line] {
			t.Errorf("steward prints %q, which the README does not show", line)
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
	doc := between(t, text, "cat > refund.yaml <<'YAML'\n", "YAML\n")
	shown := between(t, text, "./bin/steward validate refund.yaml\n```\n\n```\n", "```\n")

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "refund.yaml"), doc)
	r := run(t, dir, "validate", "refund.yaml")
	wantCode(t, r, exitInvalid, "validate refund.yaml")
	if got := r.stdout + r.stderr; got != shown {
		t.Fatalf("README shows\n%s\nbut steward prints\n%s", shown, got)
	}
	if !strings.Contains(text, "(exit status 2:\nnothing ran)") {
		t.Error("README does not give validate's exit status")
	}

	// The quickstart's first command builds (done: the test binaries),
	// pins the bundled plugins and runs a bundled runbook on their
	// sandbox backends, then the card payment example.
	first := between(t, text, "<!-- runnable -->\n```sh\nmake build && ", "\n")
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
	cmds := strings.Split(strings.TrimSpace(between(t, block, "<!-- runnable -->\n```sh\n", "```\n")), "\n")
	shown := between(t, block, "```\n\n```\n", "```\n")
	dir, home := readmeFolder(t), t.TempDir()
	wantCode(t, homeRun(t, dir, home, nil, "plugins", "lock"), exitOK, "plugins lock")
	runShown(t, dir, home, cmds, shown)
	// The section's other commands (the access runbooks) run too.
	others := strings.Split(block, "<!-- runnable -->\n```sh\n")[2:]
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

// TestReadmeService runs the README's "Run it as a service" example: the
// token it creates, then its curl request against a real steward serve
// (on a free port and a temp home, where the README says 127.0.0.1:8080
// and /var/lib/steward) starts a run, executed in the server as the
// token's subject.
func TestReadmeService(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := between(t, string(readme), "## Run it as a service\n", "\n## ")
	serveCmd := between(t, section, "```sh\n", "\n```")
	if want := "steward serve --home /var/lib/steward --config /etc/steward/steward.yaml --listen 127.0.0.1:8080"; serveCmd != want {
		t.Fatalf("README serves with %q; this test runs %q", serveCmd, want)
	}
	example := between(t, section, "```sh\nTOKEN=", "```\n")
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: []\n")
	srv := startServe(t, dir, home, "--config", filepath.Join(dir, "steward.yaml"))
	script := strings.NewReplacer("/var/lib/steward", home, "127.0.0.1:8080", srv.addr).Replace("TOKEN=" + example)
	cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(steward)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, script, out)
	}
	var started struct{ ID, Runbook, Status, Events string }
	if err := json.Unmarshal(out, &started); err != nil || started.Runbook != "decline-reply" || started.Status != "running" ||
		started.Events != "/api/v1/runs/"+started.ID+"/events" {
		t.Fatalf("the README's request answered %s (%v)", out, err)
	}
	var d timeline
	for i := 0; i < 3000; i++ {
		if d = showRun(t, dir, home, started.ID); d.Run.Status == "succeeded" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d.Run.Status != "succeeded" || d.Timeline[0].Type != "run.started" || d.Timeline[0].Data["actor"] != "ci-bot" {
		t.Fatalf("run %s: %s, first record %+v", started.ID, d.Run.Status, d.Timeline[0])
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, srv.log.String())
	}
}
