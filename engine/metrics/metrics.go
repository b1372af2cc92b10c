// Package metrics holds the Prometheus collectors of steward serve: runs
// by runbook and status, run and step durations (an engine.Sink that
// observes events), schedule lag and fires, approvals waiting, plugin
// starts, and the journal's append latency (a journal.Store decorator).
package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// Metrics are the collectors, registered once.
type Metrics struct {
	runs          *prometheus.CounterVec
	runDuration   *prometheus.HistogramVec
	stepDuration  *prometheus.HistogramVec
	scheduleLag   *prometheus.HistogramVec
	fires         *prometheus.CounterVec
	pluginStarts  *prometheus.CounterVec
	appendLatency prometheus.Histogram

	mu      sync.Mutex
	runbook map[string]string // run id → runbook, between its start and its end
}

// Options are the values the collectors read from elsewhere.
type Options struct {
	// ApprovalsWaiting counts the approvals runs wait for, read from the
	// journal on each scrape; nil: not collected.
	ApprovalsWaiting func(ctx context.Context) (int, error)
}

// New registers the collectors with reg.
func New(reg prometheus.Registerer, o Options) (*Metrics, error) {
	durations := []float64{.005, .025, .1, .5, 1, 5, 30, 120, 600, 3600}
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_runs_total",
			Help: "Runs that ended or started waiting, by runbook and status."}, []string{"runbook", "status"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "steward_run_duration_seconds",
			Help: "How long runs executed until they ended or waited, by runbook.", Buckets: durations}, []string{"runbook"}),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "steward_step_duration_seconds",
			Help: "How long steps took, by runbook and status.", Buckets: durations}, []string{"runbook", "status"}),
		scheduleLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "steward_schedule_lag_seconds",
			Help:    "Fire time minus slot time of scheduled runs.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 30, 60, 300}}, []string{"schedule"}),
		fires: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_schedule_fires_total",
			Help: "Schedule slots by outcome (started, skipped, duplicate, failed)."}, []string{"schedule", "outcome"}),
		pluginStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_plugin_starts_total",
			Help: "Plugin process starts, by plugin and outcome (ok, failed)."}, []string{"plugin", "outcome"}),
		appendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "steward_journal_append_seconds",
			Help: "Latency of journal appends.", Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1}}),
		runbook: map[string]string{},
	}
	cs := []prometheus.Collector{m.runs, m.runDuration, m.stepDuration, m.scheduleLag, m.fires, m.pluginStarts, m.appendLatency}
	if o.ApprovalsWaiting != nil {
		cs = append(cs, &approvals{count: o.ApprovalsWaiting,
			desc: prometheus.NewDesc("steward_approvals_waiting", "Approvals runs wait for, read from the journal.", nil, nil)})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Event implements engine.Sink: give it every event of the runs the
// server executes (after they are recorded).
func (m *Metrics) Event(e *engine.Event) {
	switch e.Type {
	case engine.RunStarted, engine.RunResumed:
		if e.Runbook != "" {
			m.mu.Lock()
			m.runbook[e.RunID] = e.Runbook
			m.mu.Unlock()
		}
	case engine.StepFinished:
		m.stepDuration.WithLabelValues(m.runbookOf(e.RunID, false), string(e.Status)).Observe(e.Duration.Seconds())
	case engine.RunFinished:
		rb := m.runbookOf(e.RunID, true)
		m.runs.WithLabelValues(rb, string(e.Status)).Inc()
		m.runDuration.WithLabelValues(rb).Observe(e.Duration.Seconds())
	}
}

func (m *Metrics) runbookOf(id string, forget bool) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	rb, ok := m.runbook[id]
	if forget {
		delete(m.runbook, id)
	}
	if !ok {
		return "unknown"
	}
	return rb
}

// ScheduleFired counts a slot of a schedule and, when it started a run,
// observes its lag (fire time minus slot time).
func (m *Metrics) ScheduleFired(schedule, outcome string, lag time.Duration) {
	m.fires.WithLabelValues(schedule, outcome).Inc()
	if outcome == "started" {
		m.scheduleLag.WithLabelValues(schedule).Observe(lag.Seconds())
	}
}

// PluginStarted counts a plugin start; err is why it failed.
func (m *Metrics) PluginStarted(plugin string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
	m.pluginStarts.WithLabelValues(plugin, outcome).Inc()
}

// Store returns s with the latency of its appends observed.
func (m *Metrics) Store(s journal.Store) journal.Store {
	return &timedStore{Store: s, m: m}
}

type timedStore struct {
	journal.Store
	m *Metrics
}

func (s *timedStore) Append(ctx context.Context, b journal.Batch) ([]journal.Record, error) {
	start := time.Now()
	recs, err := s.Store.Append(ctx, b)
	s.m.appendLatency.Observe(time.Since(start).Seconds())
	return recs, err
}

// approvals collects the approvals waiting on each scrape.
type approvals struct {
	count func(ctx context.Context) (int, error)
	desc  *prometheus.Desc
}

func (a *approvals) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

func (a *approvals) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := a.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(a.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, float64(n))
}
