package plugins

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/schema"
)

// BenchmarkStart: start of the reference plugin: open, SHA-256 of the
// binary checked against the lock file, fork and exec through the hashed
// descriptor, go-plugin handshake, gRPC connection and Configure (target:
// under 25 ms).
func BenchmarkStart(b *testing.B) {
	h := install(b, exampleBin, Options{}, "example")
	found, err := h.scan()
	if err != nil || len(found) != 1 {
		b.Fatal(found, err)
	}
	ctx := context.Background()
	for b.Loop() {
		p, err := h.launch(ctx, found[0], false)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		p.kill()
		b.StartTimer()
	}
}

// BenchmarkStartVerified: BenchmarkStart when the binary's SHA-256 was
// verified before and recorded in the cache: the start looks it up by the
// binary's identity instead of reading the binary.
func BenchmarkStartVerified(b *testing.B) {
	h := install(b, exampleBin, Options{CacheDir: b.TempDir()}, "example")
	settledClock(h)
	found, err := h.scan()
	if err != nil || len(found) != 1 {
		b.Fatal(found, err)
	}
	ctx := context.Background()
	warm, err := h.launch(ctx, found[0], false) // hashes and records
	if err != nil {
		b.Fatal(err)
	}
	warm.kill()
	h.hashes.Store(0)
	for b.Loop() {
		p, err := h.launch(ctx, found[0], false)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		p.kill()
		b.StartTimer()
	}
	b.ReportMetric(float64(h.hashes.Load())/float64(b.N), "hashes/op")
}

// BenchmarkFirstCall: what a steward command pays for a plugin on a home
// that ran it before: a new host, the plugin's actions loaded (its
// description from the cache), then the first call starts, configures and
// calls it; the host is closed. On a copied home (other inodes and times,
// the same bytes) the first command hashes the binary once and records its
// new identity; every later one finds it (hashes/op says how many binaries
// were read in full per command).
func BenchmarkFirstCall(b *testing.B) {
	for _, home := range []string{"same", "copied"} {
		b.Run(home, func(b *testing.B) {
			h := install(b, faultyBin, Options{CacheDir: b.TempDir()}, "faulty")
			settledClock(h)
			pidOf(b, h, "warm")
			h.Close()
			opts := h.opts
			if home == "copied" {
				opts = copyHome(b, h.opts)
			}
			var hashes int64
			for b.Loop() {
				n := reopen(b, opts, h.now)
				pidOf(b, n, "run")
				n.Close()
				hashes += n.hashes.Load()
			}
			b.ReportMetric(float64(hashes)/float64(b.N), "hashes/op")
		})
	}
}

// BenchmarkCall: one call of a read-only action of a warm plugin, host to
// plugin and back, with its p50 and p99 (targets: 200 µs and 1 ms).
func BenchmarkCall(b *testing.B) {
	h := install(b, faultyBin, Options{}, "faulty")
	a := act(b, h, "faulty.ok")
	req := &actions.Request{Action: "faulty.ok", With: map[string]any{"value": "x"}, RunID: "r", StepID: "s", Index: -1, Attempt: 1,
		Log: func(string, string) {}}
	ctx := context.Background()
	if _, err := a.Execute(ctx, req); err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if _, err := a.Execute(ctx, req); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// chainOf is a runbook of n steps of action, each passing on the value the
// step before returned.
func chainOf(n int, action string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: chain\nsteps:\n  - id: s0\n    action: %s\n    with: {value: v}\n", action)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    action: %s\n    with: {value: '${{ steps.s%d.outputs.value }}'}\n", i, action, i-1)
	}
	return b.String()
}

// BenchmarkChain100: a 100-step chain of plugin actions on a warm plugin,
// against the same chain of core.set (target: plugin under 2x builtin plus
// 100 round trips).
func BenchmarkChain100(b *testing.B) {
	h := install(b, faultyBin, Options{}, "faulty")
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clockwork.NewRealClock(), nil)...); err != nil {
		b.Fatal(err)
	}
	reg.AddSource(h)
	for _, action := range []string{"core.set", "faulty.ok"} {
		b.Run(action, func(b *testing.B) {
			rb, diags := schema.Check("chain.yaml", []byte(chainOf(100, action)), reg)
			if len(diags) > 0 {
				b.Fatal(diags.Render())
			}
			opts := engine.Options{Registry: reg}
			for b.Loop() {
				res, err := engine.Run(context.Background(), rb, nil, opts)
				if err != nil || res.Status != engine.StatusSucceeded {
					b.Fatalf("%v %+v", err, res.Error)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/step")
		})
	}
}

// BenchmarkBundledStart: each bundled plugin (plugins/NAME/main.go), built
// as `make build` builds it (stripped), launched through the host (SHA-256
// checked against the lock file, fork and exec, handshake, gRPC
// connection) and described. It reports the size of the binary: what a
// plugin links is what it hashes, maps and initialises at every start.
func BenchmarkBundledStart(b *testing.B) {
	mains, err := filepath.Glob("*/main.go")
	if err != nil || len(mains) == 0 {
		b.Fatal("no bundled plugin", err)
	}
	dir := b.TempDir()
	ctx := context.Background()
	for _, m := range mains {
		name := filepath.Dir(m)
		b.Run(name, func(b *testing.B) {
			bin := filepath.Join(dir, name)
			build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./"+name)
			if out, err := build.CombinedOutput(); err != nil {
				b.Fatalf("building %s: %v\n%s", name, err, out)
			}
			fi, err := os.Stat(bin)
			if err != nil {
				b.Fatal(err)
			}
			h := install(b, bin, Options{}, name)
			found, err := h.scan()
			if err != nil || len(found) != 1 {
				b.Fatal(found, err)
			}
			for b.Loop() {
				p, err := h.launch(ctx, found[0], false)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Describe(ctx, p.conn.Client()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.kill()
				b.StartTimer()
			}
			b.ReportMetric(float64(fi.Size()), "bytes-binary")
		})
	}
}
