package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/schema"
)

// chainRunbook is n core.set steps, each reading the one before: the
// workload of the journal's performance targets.
func chainRunbook(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: chain\nsteps:\n  - id: s0\n    action: core.set\n    with: {n: 0}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    action: core.set\n    with: {n: '${{ steps.s%d.outputs.n + 1 }}'}\n", i, i-1)
	}
	return b.String()
}

// benchJournal runs the chain b.N times, with the journal or without, in
// one process: the difference is the journal's cost. With the journal it
// reports the bytes the store grew by per run.
func benchJournal(b *testing.B, steps int, withJournal bool) {
	clock := clockwork.NewRealClock()
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clock, nil)...); err != nil {
		b.Fatal(err)
	}
	src := chainRunbook(steps)
	rb, diags := schema.Check("chain.yaml", []byte(src), reg)
	if len(diags) > 0 {
		b.Fatal(diags.Render())
	}
	home := b.TempDir()
	var store *sqlite.Store
	if withJournal {
		var err error
		if store, err = sqlite.Open(home); err != nil {
			b.Fatal(err)
		}
	}
	runs := 0
	for b.Loop() {
		opts := engine.Options{Registry: reg, Clock: clock, Actor: "bench", Version: "v"}
		var rec *journal.Recorder
		if withJournal {
			now := time.Now()
			opts.RunID = engine.NewRunID(now)
			rec = journal.NewRecorder(store, journal.RecorderOptions{
				Run:    journal.Run{ID: opts.RunID, Runbook: rb.Name, Version: "v", Actor: "bench", Status: "running", StartedAt: now},
				Source: &journal.Source{SHA256: "v", Name: rb.Name, File: "chain.yaml", Src: []byte(src)},
				Origin: &journal.Origin{File: "chain.yaml", SHA256: "v", Host: "bench", PID: os.Getpid()}})
			opts.Sink = rec
		}
		res, err := engine.Run(context.Background(), rb, nil, opts)
		if err != nil || res.Status != engine.StatusSucceeded {
			b.Fatalf("%v %v", err, res.Status)
		}
		if rec != nil {
			if err := rec.Close(); err != nil {
				b.Fatal(err)
			}
		}
		runs++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(runs*steps), "ns/step")
	if withJournal {
		if err := store.Close(); err != nil { // checkpoints the WAL into the file
			b.Fatal(err)
		}
		var size int64
		for _, f := range []string{"journal.db", "journal.db-wal"} {
			if fi, err := os.Stat(filepath.Join(home, f)); err == nil {
				size += fi.Size()
			}
		}
		b.ReportMetric(float64(size)/float64(runs), "B/run")
	}
}

func BenchmarkChain100NoJournal(b *testing.B) { benchJournal(b, 100, false) }
func BenchmarkChain100Journal(b *testing.B)   { benchJournal(b, 100, true) }
func BenchmarkOneStepNoJournal(b *testing.B)  { benchJournal(b, 1, false) }
func BenchmarkOneStepJournal(b *testing.B)    { benchJournal(b, 1, true) }
