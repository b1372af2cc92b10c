package schedule_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/engine/schedule"
	"github.com/stewardhq/steward/runbooks"
)

// BenchmarkScheduleAccuracy: N schedules on the real clock and a real
// SQLite store, all firing at the same instants (6-field cron): every
// second, or every 10 seconds (the shape of the target, 500
// schedules every minute: all 500 slots are the same instant, then time
// to drain). Each iteration is one period of slots. Reported: the lag of a
// fire (from its slot to its run.started recorded, as Observe sees it) at
// p50 and p99, and slots handled per iteration. Every fire is a run of one
// core.log step, with the default overlap (skip: each fire lists the
// runbook's active runs first).
//
//	go test ./engine/schedule -run '^$' -bench ScheduleAccuracy -benchtime 3x
func BenchmarkScheduleAccuracy(b *testing.B) {
	for _, c := range []struct {
		n     int
		every time.Duration
		spec  string
	}{{50, time.Second, "* * * * * *"}, {500, time.Second, "* * * * * *"}, {500, 10 * time.Second, "*/10 * * * * *"}} {
		b.Run(fmt.Sprintf("schedules=%d/every=%s", c.n, c.every), func(b *testing.B) { benchAccuracy(b, c.n, c.spec, c.every) })
	}
}

func benchAccuracy(b *testing.B, n int, spec string, every time.Duration) {
	dir := b.TempDir()
	for i := range n {
		name := fmt.Sprintf("tick-%03d", i)
		src := "version: 1\nname: " + name + "\nschedule:\n  - cron: \"" + spec + "\"\nsteps:\n  - id: a\n    action: core.log\n    with: {message: tick}\n"
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	store, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	clock := clockwork.NewRealClock()
	svc := runs.New(runs.Config{Store: store, Clock: clock, Host: "bench", PID: os.Getpid(),
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clock, sub)...); err != nil {
				b.Fatal(err)
			}
			return reg
		},
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.ResolveName(name, []string{dir})
		}})
	var mu sync.Mutex
	var lags []time.Duration
	outcomes := map[string]int{}
	measuring := false
	s, err := schedule.New(schedule.Config{Runs: svc, Store: store, Folders: []string{dir}, Clock: clock, NoWatch: true,
		Observe: func(_ string, slot, fired time.Time, outcome string) {
			mu.Lock()
			defer mu.Unlock()
			if measuring {
				lags = append(lags, fired.Sub(slot))
				outcomes[outcome]++
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	time.Sleep(time.Until(time.Now().Truncate(every).Add(every + every/2))) // warm up: one period
	mu.Lock()
	measuring = true
	mu.Unlock()
	b.ResetTimer()
	for range b.N {
		time.Sleep(time.Until(time.Now().Truncate(every).Add(every)))
	}
	b.StopTimer()
	time.Sleep(every / 2) // the last slot's fires
	mu.Lock()
	measuring = false
	got := slices.Clone(lags)
	oc := fmt.Sprint(outcomes)
	mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	if len(got) == 0 {
		b.Fatal("nothing fired")
	}
	slices.Sort(got)
	pct := func(p float64) float64 { return float64(got[int(p*float64(len(got)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), "p50-lag-ms")
	b.ReportMetric(pct(0.99), "p99-lag-ms")
	b.ReportMetric(float64(len(got))/float64(b.N), "slots/period")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d schedules, %d iterations: %d slots handled, outcomes %s", n, b.N, len(got), oc)
}
