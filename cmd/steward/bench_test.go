package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/schema/schematest"
)

// These benchmarks time the whole `steward validate` process, start-up
// included, as a user at a terminal or a CI job sees it.

func benchValidate(b *testing.B, args ...string) {
	b.Helper()
	for b.Loop() {
		out, err := exec.Command(steward, append([]string{"validate"}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

// BenchmarkValidateOne20Steps: one 20-step runbook (target: under 20 ms).
func BenchmarkValidateOne20Steps(b *testing.B) {
	file := filepath.Join(b.TempDir(), "one.yaml")
	writeFile(b, file, schematest.Runbook("one", 20))
	benchValidate(b, file)
}

// BenchmarkValidateFolder1000: 1,000 runbooks of 20 steps (target: under 1 s).
func BenchmarkValidateFolder1000(b *testing.B) {
	dir := b.TempDir()
	for i := range 1000 {
		name := fmt.Sprintf("generated-%04d", i)
		writeFile(b, filepath.Join(dir, fmt.Sprintf("group-%02d", i/100), name+".yaml"), schematest.Runbook(name, 20))
	}
	benchValidate(b, dir)
}

// benchRunProcess times the whole `steward run` process, journal included
// (a fresh --home per benchmark, growing as a user's does).
func benchRunProcess(b *testing.B, src string, args ...string) {
	b.Helper()
	dir := b.TempDir()
	file := filepath.Join(dir, "rb.yaml")
	writeFile(b, file, src)
	home := b.TempDir()
	for b.Loop() {
		out, err := exec.Command(steward, append([]string{"--home", home, "run", file, "--progress", "plain"}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

// BenchmarkRunOneStep: `steward run` of a 1-step runbook, the whole
// process with its progress output and its journal (target: under 10 ms).
func BenchmarkRunOneStep(b *testing.B) {
	benchRunProcess(b, "version: 1\nname: one\ninputs:\n  who: {type: string, default: world}\nsteps:\n  - id: hello\n    action: core.log\n    with: {message: 'hello ${{ inputs.who }}'}\n", "--input", "who=bench")
}

// BenchmarkRunChain100: `steward run` of a chain of 100 core.set steps, the
// whole process with its journal (target: under 50 ms).
func BenchmarkRunChain100(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: 1\nname: chain\nsteps:\n  - id: s0\n    action: core.set\n    with: {n: 0}\n")
	for i := 1; i < 100; i++ {
		fmt.Fprintf(&sb, "  - id: s%d\n    action: core.set\n    with: {n: '${{ steps.s%d.outputs.n + 1 }}'}\n", i, i-1)
	}
	benchRunProcess(b, sb.String())
}

// BenchmarkGoHello starts a Go hello-world binary: the floor for any Go
// command, measured in the same run as the benchmarks above.
func BenchmarkGoHello(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, filepath.Join(dir, "main.go"), "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n")
	writeFile(b, filepath.Join(dir, "go.mod"), "module hello\n\ngo 1.22\n")
	hello := filepath.Join(dir, "hello")
	build := exec.Command("go", "build", "-o", hello, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	for b.Loop() {
		if err := exec.Command(hello).Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessFloor starts /bin/true: the cost of any process here.
func BenchmarkProcessFloor(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunStuckTransaction: `steward run stuck-transaction` on the evm
// plugin's sandbox, the whole process: the plugin's launch (its SHA-256
// checked against the lock file, started, handshaken, configured), the
// diagnosis, the reply and the journal (target: under 60 ms).
func BenchmarkRunStuckTransaction(b *testing.B) {
	home := b.TempDir()
	installPlugin(b, home, "evm")
	dir := b.TempDir()
	if out, err := exec.Command(steward, "--home", home, "plugins", "lock").CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	args := []string{"--home", home, "run", "stuck-transaction", "--progress", "plain", "--input", "chain=ethereum",
		"--input", "tx_hash=0x9a909a909a909a909a909a909a909a909a909a909a909a909a909a909a909a90"}
	for b.Loop() {
		cmd := exec.Command(steward, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

// benchProcess times the whole steward process with args, which must
// succeed.
func benchProcess(b *testing.B, args ...string) {
	b.Helper()
	for b.Loop() {
		if out, err := exec.Command(steward, args...).CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

// BenchmarkVersion: `steward version`, the floor of every steward command
// (target: under 2x BenchmarkGoHello).
func BenchmarkVersion(b *testing.B) {
	benchProcess(b, "version")
}

// BenchmarkRuns: `steward runs` on a home of 1,000 finished runs, the
// newest 20 listed (target: under 2x BenchmarkGoHello).
func BenchmarkRuns(b *testing.B) {
	home := b.TempDir()
	fillJournal(b, home, 1000)
	benchProcess(b, "--home", home, "runs")
}

// BenchmarkShow: `steward show` of a run of 3 steps made by `steward run`
// (target: under 2x BenchmarkGoHello).
func BenchmarkShow(b *testing.B) {
	home := b.TempDir()
	file := filepath.Join(b.TempDir(), "rb.yaml")
	writeFile(b, file, "version: 1\nname: three\nsteps:\n  - id: a\n    action: core.set\n    with: {n: 1}\n"+
		"  - id: b\n    action: core.set\n    with: {n: '${{ steps.a.outputs.n + 1 }}'}\n"+
		"  - id: c\n    action: core.log\n    with: {message: 'n is ${{ steps.b.outputs.n }}'}\n")
	out, err := exec.Command(steward, "--home", home, "run", file, "--progress", "plain").CombinedOutput()
	if err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	m := startedRe.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no run id in:\n%s", out)
	}
	benchProcess(b, "--home", home, "show", string(m[1]))
}

// fillJournal appends n finished runs of 3 records each (run.started,
// step.finished, run.finished) to the journal under home, one Append per
// run, through the store's API: what n short `steward run`s would leave,
// without n processes.
func fillJournal(tb testing.TB, home string, n int) {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(home)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	t := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	src := &journal.Source{Name: "bench", File: "bench.yaml",
		Src: []byte("version: 1\nname: bench\nsteps:\n  - id: hello\n    action: core.set\n    with: {n: 1}\n")}
	src.SHA256 = journal.HashBody(src.Src)
	version := src.SHA256
	for i := range n {
		id := fmt.Sprintf("%s-%08x", t.Format("20060102-150405"), i)
		end := t.Add(3 * time.Millisecond)
		run := journal.Run{ID: id, Runbook: "bench", Version: version, Actor: "bench", Status: "succeeded",
			StartedAt: t, UpdatedAt: end, FinishedAt: end, Host: "bench-host", PID: 4242}
		started, _ := json.Marshal(map[string]any{"runbook": "bench", "version": version, "actor": "bench",
			"inputs": map[string]any{"who": fmt.Sprint("user-", i)}})
		b := journal.Batch{RunID: id, Run: &run, Entries: []journal.Entry{
			{Type: "run.started", Time: t, Data: started},
			{Type: "step.finished", Time: t.Add(2 * time.Millisecond),
				Data: json.RawMessage(`{"step":"hello","attempt":1,"status":"succeeded","outputs":{"n":1}}`)},
			{Type: "run.finished", Time: end, Data: json.RawMessage(`{"status":"succeeded"}`)},
		}}
		if i == 0 { // stored once, as steward run does
			b.Source = src
		}
		if _, err := s.Append(ctx, b); err != nil {
			tb.Fatal(err)
		}
		t = t.Add(time.Second)
	}
}
