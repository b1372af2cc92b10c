package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/metrics"
)

// The sink counts runs by runbook and status and observes run and step
// durations from the events of a run; the store decorator times appends
// to a real SQLite store; plugin starts, schedule fires and the
// approvals gauge are what their callers report.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	waiting := 2
	var waitErr error
	m, err := metrics.New(reg, metrics.Options{ApprovalsWaiting: func(context.Context) (int, error) { return waiting, waitErr }})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*engine.Event{
		{Type: engine.RunStarted, RunID: "r1", Runbook: "refund"},
		{Type: engine.StepFinished, RunID: "r1", Step: "a", Status: engine.StatusSucceeded, Duration: 20 * time.Millisecond},
		{Type: engine.RunFinished, RunID: "r1", Status: engine.StatusWaiting, Duration: 30 * time.Millisecond},
		{Type: engine.RunResumed, RunID: "r1", Runbook: "refund"},
		{Type: engine.RunFinished, RunID: "r1", Status: engine.StatusSucceeded, Duration: 2 * time.Second},
	} {
		m.Event(e)
	}
	m.PluginStarted("payments", nil)
	m.PluginStarted("payments", errors.New("no"))
	m.ScheduleFired("access-review-0", "started", 300*time.Millisecond)
	m.ScheduleFired("access-review-0", "skipped", 0)

	store, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := m.Store(store)
	now := time.Now()
	if _, err := s.Append(context.Background(), journal.Batch{RunID: "r9", Sync: true,
		Run:     &journal.Run{ID: "r9", Runbook: "x", Status: "running", StartedAt: now, UpdatedAt: now},
		Entries: []journal.Entry{{Type: "run.started", Time: now, Data: []byte(`{"runbook":"x"}`)}}}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP steward_approvals_waiting Approvals runs wait for, read from the journal.
# TYPE steward_approvals_waiting gauge
steward_approvals_waiting 2
# HELP steward_plugin_starts_total Plugin process starts, by plugin and outcome (ok, failed).
# TYPE steward_plugin_starts_total counter
steward_plugin_starts_total{outcome="failed",plugin="payments"} 1
steward_plugin_starts_total{outcome="ok",plugin="payments"} 1
# HELP steward_runs_total Runs that ended or started waiting, by runbook and status.
# TYPE steward_runs_total counter
steward_runs_total{runbook="refund",status="succeeded"} 1
steward_runs_total{runbook="refund",status="waiting"} 1
# HELP steward_schedule_fires_total Schedule slots by outcome (started, skipped, duplicate, failed).
# TYPE steward_schedule_fires_total counter
steward_schedule_fires_total{outcome="skipped",schedule="access-review-0"} 1
steward_schedule_fires_total{outcome="started",schedule="access-review-0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "steward_approvals_waiting", "steward_plugin_starts_total",
		"steward_runs_total", "steward_schedule_fires_total"); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{"steward_run_duration_seconds": 1, "steward_step_duration_seconds": 1,
		"steward_schedule_lag_seconds": 1, "steward_journal_append_seconds": 1} {
		if got := testutil.CollectAndCount(reg, name); got != n {
			t.Errorf("%s: %d series, want %d", name, got, n)
		}
	}
	if c, err := testutil.GatherAndCount(reg, "steward_journal_append_seconds"); err != nil || c != 1 {
		t.Errorf("append latency: %d %v", c, err)
	}
	waitErr = errors.New("journal gone")
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "journal gone") {
		t.Errorf("a journal that does not answer: %v", err)
	}
}
