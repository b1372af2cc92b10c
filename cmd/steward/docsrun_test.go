package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/schema"
)

// A code block of the README or the docs is runnable when the line just
// before its fence is the comment <!-- runnable -->, or
// <!-- runnable exit=N --> when its last command ends with exit status N
// (3: waits for an approval). Renderers show nothing of the comment.

// runnable returns the runnable blocks of a Markdown file, in order, with
// the exit status each expects.
func runnable(t *testing.T, m *markdown) (blocks []codeBlock, codes []int) {
	t.Helper()
	lines := m.lines()
	for _, b := range m.blocks() {
		if b.line < 2 {
			continue
		}
		mark := runnableRe.FindStringSubmatch(strings.TrimSpace(lines[b.line-2]))
		if mark == nil {
			continue
		}
		if b.info != "sh" {
			t.Fatalf("%s:%d: a runnable block is sh, not %q", m.file, b.line, b.info)
		}
		code := 0
		if mark[1] != "" {
			code, _ = strconv.Atoi(mark[1])
		}
		blocks, codes = append(blocks, b), append(codes, code)
	}
	return blocks, codes
}

// runnableRe is the comment that marks a runnable block.
var runnableRe = regexp.MustCompile(`^<!-- runnable(?: exit=(\d+))? -->$`)

// copyTree copies the repository's files (tracked, and untracked but not
// ignored, as git lists them) to dir, without ./bin: a fresh checkout.
func copyTree(t *testing.T, dir string) {
	t.Helper()
	files, err := exec.Command("git", "-C", "../..", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		src := filepath.Join("../..", filepath.FromSlash(name))
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() || strings.HasPrefix(name, "bin/") {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// docsEnv is the environment of runnable blocks: a fresh home, steward
// (the binary of these tests) and go on PATH with the system's /usr/bin
// and /bin, and not GOPATH/bin or /usr/sbin: not the peers of the tests
// (geth, stripe-mock, slapd), which the commands shown to users must not
// need. Go keeps its caches.
func docsEnv(t *testing.T) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + strings.Join([]string{filepath.Dir(steward), filepath.Dir(goBin), "/usr/bin", "/bin"}, string(os.PathListSeparator)),
		"HOME=" + t.TempDir(), "STEWARD_HOME=" + t.TempDir(), "NO_COLOR=1", "LANG=C.UTF-8", "GOTOOLCHAIN=local",
		"TMPDIR=" + os.TempDir(),
	}
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}
	return env
}

// TestDocsRunnable runs every runnable block of the README, the project
// files and docs/*.md, in order, one file at a time: in a fresh copy of
// the repository, with a fresh home, through bash -e -o pipefail, as a
// user who has only Go, make and steward would run them. Each must end
// with its exit status (0 unless exit=N). So the commands shown cannot
// drift from what steward does.
func TestDocsRunnable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds in a copy of the repository")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, file := range markdownFiles(t) {
		blocks, codes := runnable(t, parseMarkdown(t, file))
		if len(blocks) == 0 {
			continue
		}
		total += len(blocks)
		t.Run(file, func(t *testing.T) {
			work := t.TempDir()
			copyTree(t, work)
			env := docsEnv(t)
			// The peers of the tests are out of reach.
			probe := exec.Command(bash, "-c", "command -v geth stripe-mock slapd")
			probe.Env, probe.Dir = env, work
			if out, err := probe.Output(); err == nil || len(out) > 0 {
				t.Fatalf("the peers of the tests are on the PATH of runnable blocks: %s", out)
			}
			for i, b := range blocks {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", b.body)
				cmd.Env, cmd.Dir = env, work
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				cancel()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("%s:%d: %v", file, b.line, err)
				}
				if code != codes[i] {
					t.Fatalf("%s:%d: exit status %d, want %d\n%s\noutput:\n%s", file, b.line, code, codes[i], b.body, out.String())
				}
			}
		})
	}
	if total < 10 {
		t.Errorf("only %d runnable blocks in the README and the docs", total)
	}
}

// TestRunnableMarker: the attributes of a runnable block.
func TestRunnableMarker(t *testing.T) {
	src := []byte("<!-- runnable -->\n```sh\nls\n```\n\n```sh\nnot run\n```\n\n<!-- runnable exit=3 -->\n```sh\nfalse\n```\n")
	blocks, codes := runnable(t, &markdown{file: "f.md", src: src, doc: goldmarkParse(src)})
	if len(blocks) != 2 || blocks[0].body != "ls\n" || codes[0] != 0 || blocks[1].body != "false\n" || codes[1] != 3 || blocks[1].line != 11 {
		t.Fatalf("blocks %+v, codes %v", blocks, codes)
	}
}

// TestRunHelpExamples: every example of steward run --help names a
// runbook that exists and only inputs it declares, with its required
// ones; each is run for real, but one that reaches the network.
func TestRunHelpExamples(t *testing.T) {
	r := run(t, t.TempDir(), "run", "--help")
	wantCode(t, r, exitOK, "run --help")
	_, examples, ok := strings.Cut(r.stdout, "Examples:\n")
	if !ok {
		t.Fatal("steward run --help has no examples")
	}
	examples, _, _ = strings.Cut(examples, "\n\n")
	home := pinnedHome(t, "evm")
	n := 0
	for _, line := range strings.Split(examples, "\n") {
		args := strings.Fields(line)
		if len(args) < 3 || args[0] != "steward" || args[1] != "run" {
			t.Fatalf("an example that does not run a runbook: %q", line)
		}
		n++
		file := args[2]
		if !strings.HasSuffix(file, ".yaml") {
			file = "runbooks/" + file + ".yaml"
		}
		src, err := os.ReadFile(filepath.Join("../..", file))
		if err != nil {
			t.Errorf("%q: no runbook %s in the repository", line, file)
			continue
		}
		rb, diags := schema.Load(file, src)
		if len(diags.Errors()) > 0 {
			t.Fatalf("%s: %s", file, diags.Render())
		}
		given, inputsFile := map[string]bool{}, ""
		for i, a := range args {
			if a == "--input" && i+1 < len(args) {
				k, _, _ := strings.Cut(args[i+1], "=")
				given[k] = true
			}
			if a == "--inputs" && i+1 < len(args) {
				inputsFile = args[i+1]
			}
		}
		declared := map[string]bool{}
		for _, in := range rb.Inputs {
			declared[in.Name] = true
			if in.Required && !in.HasDefault && !given[in.Name] && inputsFile == "" {
				t.Errorf("%q: required input %s is not given", line, in.Name)
			}
		}
		for k := range given {
			if !declared[k] {
				t.Errorf("%q: %s declares no input %s", line, file, k)
			}
		}
		if strings.Contains(line, "https://") {
			continue // it reaches the network
		}
		// In a folder with the runbook at its path, and the inputs file
		// the example names giving the required inputs.
		dir := t.TempDir()
		if strings.HasSuffix(args[2], ".yaml") {
			writeFile(t, filepath.Join(dir, args[2]), string(src))
			// With the files it reads (core.read_file: decline-reply's
			// decline-codes.json), as they sit beside it in the repository.
			if files := filepath.Join("../..", filepath.Dir(file), "files"); func() bool { fi, err := os.Stat(files); return err == nil && fi.IsDir() }() {
				if err := os.CopyFS(filepath.Join(dir, filepath.Dir(args[2]), "files"), os.DirFS(files)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if inputsFile != "" {
			doc := map[string]any{}
			for _, in := range rb.Inputs {
				if in.Required && !in.HasDefault {
					doc[in.Name] = sampleInput(t, file, in.Name)
				}
			}
			b, _ := json.Marshal(doc)
			writeFile(t, filepath.Join(dir, inputsFile), string(b))
		}
		wantCode(t, homeRun(t, dir, home, nil, args[1:]...), exitOK, line)
	}
	if n != 3 {
		t.Errorf("%d examples", n)
	}
}

// specRe finds a citation of the spec the docs were written from, which
// is not in the repository.
var specRe = regexp.MustCompile("SPEC(\\.md)?`? section")

// sampleInput is a valid value of a required input of the runbooks that
// the examples of steward run --help read from a file.
func sampleInput(t *testing.T, file, name string) any {
	t.Helper()
	switch file + ":" + name {
	case "runbooks/decline-reply.yaml:decline_code":
		return "expired_card"
	}
	t.Fatalf("no sample value for input %s of %s", name, file)
	return nil
}

// TestDocsFacts: the docs name every bundled runbook where they list
// them, cite no file the repository does not have (SPEC.md), and the
// JSON Schema modeline they show reaches, from a runbook in runbooks/,
// the schema that steward schema wrote where they say; the bundled
// runbooks' modelines reach the committed schema, which is what steward
// schema prints.
func TestDocsFacts(t *testing.T) {
	running, err := os.ReadFile("../../docs/running.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../../runbooks/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bundled := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".test.yaml") {
			continue
		}
		bundled++
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if !strings.Contains(string(running), "`"+name+"`") {
			t.Errorf("docs/running.md does not list the bundled runbook %s", name)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		if first != "# yaml-language-server: $schema=../schema/runbook.schema.json" {
			t.Errorf("%s: first line %q", f, first)
		}
	}
	if bundled < 8 {
		t.Errorf("%d bundled runbooks", bundled)
	}
	committed, err := os.ReadFile("../../schema/runbook.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	// steward schema prints the committed schema with the built-in
	// actions' with typed: every definition of the committed one is there.
	var base, printed struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	r := run(t, t.TempDir(), "schema")
	if err := json.Unmarshal(committed, &base); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(r.stdout), &printed); err != nil {
		t.Fatalf("steward schema: %v", err)
	}
	for name := range base.Defs {
		if _, ok := printed.Defs[name]; !ok {
			t.Errorf("steward schema lacks $defs.%s of schema/runbook.schema.json", name)
		}
	}

	for _, file := range markdownFiles(t) {
		b, err := os.ReadFile(filepath.Join("../..", file))
		if err != nil {
			t.Fatal(err)
		}
		if m := specRe.Find(b); m != nil {
			t.Errorf("%s cites %q, which is not in the repository", file, m)
		}
	}

	// docs/runbook-format.md: its runnable block writes the schema at the
	// top of the repository; the modeline it shows, read from a runbook
	// in runbooks/, must reach that file.
	m := parseMarkdown(t, "docs/runbook-format.md")
	blocks, _ := runnable(t, m)
	written := ""
	for _, b := range blocks {
		if _, after, ok := strings.Cut(b.body, "steward schema > "); ok {
			written = strings.Fields(after)[0]
		}
	}
	modeline := ""
	for _, b := range m.blocks() {
		if _, after, ok := strings.Cut(b.body, "# yaml-language-server: $schema="); ok {
			modeline = strings.TrimSpace(after)
		}
	}
	if written == "" || modeline == "" {
		t.Fatalf("docs/runbook-format.md: the schema is written to %q, the modeline says %q", written, modeline)
	}
	if got := filepath.Clean(filepath.Join("runbooks", modeline)); got != filepath.Clean(written) {
		t.Errorf("docs/runbook-format.md: from runbooks/, $schema=%s is %s, but the schema is written to %s", modeline, got, written)
	}
	help := run(t, t.TempDir(), "schema", "--help").stdout
	if !strings.Contains(help, "$schema=../runbook.schema.json") {
		t.Errorf("steward schema --help:\n%s", help)
	}
}
