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
	benchJournalOf(b, chainRunbook(steps), steps, withJournal)
}

// touch is an action that declares it mutates and does nothing: each
// step of it makes the journal write durably (fsync) before it runs.
type touch struct{}

func (touch) Spec() actions.Spec {
	return actions.Spec{Name: "bench.touch", Mutates: true, Input: &schema.DataSchema{Type: schema.Types{"object"}}}
}
func (touch) Execute(context.Context, *actions.Request) (map[string]any, error) { return nil, nil }

func benchJournalOf(b *testing.B, src string, steps int, withJournal bool) {
	clock := clockwork.NewRealClock()
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clock, nil)...); err != nil {
		b.Fatal(err)
	}
	if err := reg.Register(touch{}); err != nil {
		b.Fatal(err)
	}
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

// BenchmarkMutating100Journal: 100 steps of an action that mutates: the
// cost of the durable write (fsync) before each of them.
func BenchmarkMutating100Journal(b *testing.B) {
	benchJournalOf(b, touches(100), 100, true)
}

// BenchmarkMutating100NoJournal: the same without the journal.
func BenchmarkMutating100NoJournal(b *testing.B) {
	benchJournalOf(b, touches(100), 100, false)
}

// touches is n bench.touch steps, one after the other.
func touches(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\nname: touches\nsteps:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: s%d\n    action: bench.touch\n    with: {i: %d}\n", i, i)
	}
	return b.String()
}
