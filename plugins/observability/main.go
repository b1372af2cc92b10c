// Command steward-plugin-observability lets a runbook ask whether there is
// an incident before it answers a customer: read-only queries of the
// metrics and logs that support teams watch in Grafana, Datadog and Kibana.
//
//   - observability.query evaluates a metric query now: one number and a
//     small table of series;
//   - observability.range summarizes a metric query over a window (min,
//     max, average, last);
//   - observability.incident says whether an error rate or a latency is
//     above its threshold over the last minutes: incident, value,
//     threshold, query, link;
//   - observability.logs_count counts the log lines a query matches in a
//     window;
//   - observability.top_messages lists the most frequent messages among
//     them.
//
// Metrics come from Prometheus (its HTTP API: also Grafana-managed
// Prometheus, Mimir, Thanos) or Datadog; logs from Elasticsearch (what
// Kibana reads) or Datadog; both from a sandbox of fixtures. Without
// settings, nothing is configured and the actions fail with
// not_configured, which the support runbooks read as "health check
// skipped". Answers are numbers and small tables, never raw data: series,
// messages and their lengths are capped, and outputs say when something
// was left out. docs/plugins-observability.md documents the settings, the
// actions and the error codes.
//
// Build it with `go build -o bin/steward-plugin-observability ./plugins/observability`.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

func main() { sdk.Serve(New()) }

// New returns the plugin; each call a fresh one, for tests.
func New() sdk.Plugin { return newObservability().plugin() }

// observability is the plugin: its settings and the backends they chose.
// A nil backend is one that is not configured.
type observability struct {
	settings Settings
	metrics  metricsBackend
	logs     logsBackend

	// Tests set these before the plugin is configured.
	now       func() time.Time  // time.Now when nil
	transport http.RoundTripper // the HTTP backends'; a clone of http.DefaultTransport when nil
}

func newObservability() *observability { return &observability{settings: defaultSettings()} }

const version = "1.0.0"

func (o *observability) plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "observability",
		Version:     version,
		Description: "Read-only metrics and logs queries (Prometheus, Datadog, Elasticsearch, or a sandbox): is there an incident, how many errors, which messages.",
		Config:      &o.settings,
		Configure:   o.configure,
		Actions: []sdk.ActionDef{
			sdk.Action("query", o.query,
				sdk.Describe("Evaluates a metric query now: the first series' value and a small table of series.")),
			sdk.Action("range", o.rangeStats,
				sdk.Describe("Summarizes a metric query over a window: min, max, average and last value, per series.")),
			sdk.Action("incident", o.incident,
				sdk.Describe("Says whether error rates or latencies are above their thresholds over the last minutes: incident, value, threshold, query, link.")),
			sdk.Action("logs_count", o.logsCount,
				sdk.Describe("Counts the log lines a query matches in a window.")),
			sdk.Action("top_messages", o.topMessages,
				sdk.Describe("Lists the most frequent messages among the log lines a query matches in a window, with their counts.")),
		},
	}
}

// configure runs once the settings are decoded: it checks them and builds
// the backends they choose.
func (o *observability) configure(context.Context) error {
	o.metrics, o.logs = nil, nil
	s := &o.settings
	if err := s.check(); err != nil {
		return err
	}
	switch s.Metrics {
	case backendPrometheus:
		o.metrics = newPrometheus(s.Prometheus, o.transport)
	case backendDatadog:
		o.metrics = newDatadog(s.Datadog, o.transport)
	case backendSandbox:
		o.metrics = sandbox{}
	}
	switch s.Logs {
	case backendElasticsearch:
		o.logs = newElasticsearch(s.Elasticsearch, o.transport)
	case backendDatadog:
		o.logs = newDatadog(s.Datadog, o.transport)
	case backendSandbox:
		o.logs = sandbox{}
	}
	return nil
}

func (o *observability) clock() time.Time {
	if o.now != nil {
		return o.now().UTC()
	}
	return time.Now().UTC()
}
