package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine"
)

// chain returns a runbook of n core.set steps, each reading the one before.
func chain(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: chain\nsteps:\n  - id: s0\n    action: core.set\n    with: {n: 0}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    action: core.set\n    with: {n: '${{ steps.s%d.outputs.n + 1 }}'}\n", i, i-1)
	}
	fmt.Fprintf(&b, "outputs:\n  n: ${{ steps.s%d.outputs.n }}\n", n-1)
	return b.String()
}

// independent returns a runbook of n steps with no dependency.
func independent(n int, action, with string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: independent\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    needs: []\n    action: %s\n    with: %s\n", i, action, with)
	}
	return b.String()
}

func sequential(n int, action, with string) string {
	return strings.ReplaceAll(independent(n, action, with), "    needs: []\n", "")
}

func benchRun(b *testing.B, src string, steps int) {
	reg := registry(b, clockwork.NewRealClock())
	rb := load(b, reg, src)
	opts := engine.Options{Registry: reg}
	b.ReportAllocs()
	for b.Loop() {
		res, err := engine.Run(context.Background(), rb, nil, opts)
		if err != nil || res.Status != engine.StatusSucceeded {
			b.Fatalf("%v %+v", err, res.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(steps), "ns/step")
}

// BenchmarkChain: engine overhead per step of a chain of core.set steps,
// each templating the previous step's output, in process with no journal
// (target: under 20 µs per step, flat from 100 to 1,000 steps).
func BenchmarkChain(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchRun(b, chain(n), n) })
	}
}

// BenchmarkWall100: 100 steps that each wait 1 ms, chained or independent
// (--parallel 8): independent steps must finish in less wall time.
func BenchmarkWall100(b *testing.B) {
	b.Run("chained", func(b *testing.B) { benchRun(b, sequential(100, "core.sleep", "{duration: 1ms}"), 100) })
	b.Run("independent", func(b *testing.B) { benchRun(b, independent(100, "core.sleep", "{duration: 1ms}"), 100) })
}

// BenchmarkIndependentSet: 100 and 1,000 independent core.set steps: the
// scheduler's cost when everything is ready at once.
func BenchmarkIndependentSet(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchRun(b, independent(n, "core.set", "{a: 1}"), n) })
	}
}
