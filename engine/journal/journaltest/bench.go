package journaltest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// The benchmarks every store runs, so that their numbers compare.

// BenchAppend appends b.N batches like a run's (three records of a step,
// with the run's summary, Sync or not) from writers goroutines, each
// through a handle of its own (open gives another handle on the same
// store: another process or replica) and to a run of its own, and
// reports appends/s and records/s.
func BenchAppend(b *testing.B, open func() journal.Store, writers int, durable bool) {
	handles := make([]journal.Store, writers)
	for i := range handles {
		handles[i] = open()
	}
	data := func(step, what string) []byte {
		return fmt.Appendf(nil, `{"step":"%s","action":"core.set","attempt":1,"with":{"payment_id":"pay_ABCDEF12","amount":1200,"currency":"EUR"},"%s":"%s"}`,
			step, what, strings.Repeat("x", 60))
	}
	var next atomic.Int64
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w, h := range handles {
		wg.Go(func() {
			id := fmt.Sprintf("bench-%d-%d", w, time.Now().UnixNano())
			run := journal.Run{ID: id, Runbook: "bench", Status: "running", StartedAt: time.Now(), Host: "bench", PID: os.Getpid()}
			for i := 0; ; i++ {
				if next.Add(1) > int64(b.N) {
					return
				}
				step := fmt.Sprint("s", i)
				run.UpdatedAt = time.Now()
				r := run
				if _, err := h.Append(context.Background(), journal.Batch{RunID: id, Run: &r, Sync: durable, Entries: []journal.Entry{
					{Type: "step.started", Data: data(step, "name")},
					{Type: "attempt.started", Data: data(step, "key")},
					{Type: "step.finished", Data: data(step, "status")},
				}}); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(3*float64(b.N)/elapsed.Seconds(), "records/s")
}

// ChainRunbook is n core.set steps, each reading the one before.
func ChainRunbook(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: chain\nsteps:\n  - id: s0\n    action: core.set\n    with: {n: 0}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    action: core.set\n    with: {n: '${{ steps.s%d.outputs.n + 1 }}'}\n", i, i-1)
	}
	return b.String()
}

// BenchChain runs the chain of steps core.set steps b.N times with the
// journal in s, as the run service does (a journal.Recorder), and
// reports ns/step; it returns the runs made.
func BenchChain(b *testing.B, s journal.Store, steps int) int {
	clock := clockwork.NewRealClock()
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clock, nil)...); err != nil {
		b.Fatal(err)
	}
	src := ChainRunbook(steps)
	rb, diags := schema.Check("chain.yaml", []byte(src), reg)
	if len(diags) > 0 {
		b.Fatal(diags.Render())
	}
	runs := 0
	for b.Loop() {
		now := time.Now()
		opts := engine.Options{Registry: reg, Clock: clock, Actor: "bench", Version: "v", RunID: engine.NewRunID(now)}
		rec := journal.NewRecorder(s, journal.RecorderOptions{
			Run:    journal.Run{ID: opts.RunID, Runbook: rb.Name, Version: "v", Actor: "bench", Status: "running", StartedAt: now},
			Source: &journal.Source{SHA256: "v", Name: rb.Name, File: "chain.yaml", Src: []byte(src)},
			Origin: &journal.Origin{File: "chain.yaml", SHA256: "v", Host: "bench", PID: os.Getpid()}})
		opts.Sink = rec
		res, err := engine.Run(context.Background(), rb, nil, opts)
		if err != nil || res.Status != engine.StatusSucceeded {
			b.Fatalf("%v %v", err, res.Status)
		}
		if err := rec.Close(); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(runs*steps), "ns/step")
	return runs
}
