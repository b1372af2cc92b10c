package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/observability/promtest"
)

// The queries of the runbooks' health checks (runbooks/files/health-checks.json).
const (
	errorRatio = `sum(rate(card_payment_requests_total{provider="%s",outcome="error"}[5s])) / sum(rate(card_payment_requests_total{provider="%s"}[5s]))`
	latencyP95 = `histogram_quantile(0.95, sum by (le) (rate(card_payment_duration_seconds_bucket{provider="%s"}[5s])))`
)

// TestPrometheus runs the actions against a real Prometheus server
// (Debian's prometheus, started by promtest) scraping an exporter served
// by the test every second: real PromQL (rate, sum, histogram_quantile)
// over real scrapes. Each scrape adds the same load, so the ratios and the
// quantile are exact whatever the timing: stripe fails 2 requests in 100
// (p95 0.35s), adyen 30 in 100 with slow answers (p95 2.3s).
func TestPrometheus(t *testing.T) {
	exp := promtest.ServeExporter(t, map[string]promtest.Load{
		"stripe": {Requests: 100, Errors: 2, Fast: 90, Medium: 8, Slow: 2},
		"adyen":  {Requests: 100, Errors: 30, Fast: 10, Medium: 40, Slow: 50},
	})
	prom := promtest.Start(t, exp.Target())
	prom.WaitFor(t, fmt.Sprintf(errorRatio, "adyen", "adyen")+" > 0")
	prom.WaitFor(t, fmt.Sprintf(latencyP95, "stripe"))

	p := start(t, map[string]any{"metrics": "prometheus", "prometheus": map[string]any{"url": prom.URL}}, time.Time{})

	out, _, err := p.Execute("query", map[string]any{"query": fmt.Sprintf(errorRatio, "adyen", "adyen")})
	if err != nil {
		t.Fatal(err)
	}
	if !near(out["value"], 0.30) || out["empty"] != false || out["series_count"] != float64(1) || out["backend"] != "prometheus" ||
		!strings.HasPrefix(out["link"].(string), prom.URL+"/graph?g0.end_input=") {
		t.Errorf("query: %v", out)
	}

	// One series per provider, largest first, capped.
	out, _, err = p.Execute("query", map[string]any{"query": `sum by (provider) (rate(card_payment_requests_total{outcome="error"}[5s]))`, "max_series": 1})
	if err != nil {
		t.Fatal(err)
	}
	series := out["series"].([]any)
	if out["series_count"] != float64(2) || out["truncated"] != true || len(series) != 1 ||
		fmt.Sprint(series[0].(map[string]any)["labels"]) != "map[provider:adyen]" {
		t.Errorf("query by provider: %v", out)
	}

	out, _, err = p.Execute("range", map[string]any{"query": fmt.Sprintf(latencyP95, "stripe"), "window": "1m", "step": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if !near(out["min"], 0.35) || !near(out["max"], 0.35) || !near(out["last"], 0.35) || out["points"].(float64) < 1 || out["step"] != "1s" {
		t.Errorf("range: %v", out)
	}

	checks := func(provider string) []any {
		return []any{
			map[string]any{"name": "error_rate", "query": fmt.Sprintf(errorRatio, provider, provider), "threshold": 0.05},
			map[string]any{"name": "latency_p95", "query": fmt.Sprintf(latencyP95, provider), "threshold": 2},
		}
	}
	out, _, err = p.Execute("incident", map[string]any{"checks": checks("adyen"), "window": "1m", "step": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if out["incident"] != true || out["check"] != "error_rate" || !near(out["value"], 0.30) || out["threshold"] != 0.05 ||
		out["summary"] != "incident: error_rate 0.3 > 0.05, latency_p95 2.3 > 2 over the last 1m (avg)" {
		t.Errorf("adyen: %v", out)
	}
	link, _ := url.Parse(out["link"].(string))
	if link.Query().Get("g0.expr") != fmt.Sprintf(errorRatio, "adyen", "adyen") || link.Query().Get("g0.range_input") != "1m" {
		t.Errorf("link %s", out["link"])
	}
	out, _, err = p.Execute("incident", map[string]any{"checks": checks("stripe"), "window": "1m", "step": "1s", "over": "max"})
	if err != nil {
		t.Fatal(err)
	}
	if out["incident"] != false || out["summary"] != "no incident: error_rate 0.02 ≤ 0.05, latency_p95 0.35 ≤ 2 over the last 1m (max)" {
		t.Errorf("stripe: %v", out)
	}
	// A provider without metrics is no data, not "no incident" in silence.
	out, _, err = p.Execute("incident", map[string]any{"checks": checks("worldpay"), "window": "1m"})
	if err != nil || out["incident"] != false || out["summary"] != "no incident: error_rate no data, latency_p95 no data over the last 1m (avg)" {
		t.Errorf("worldpay: %v %v", out, err)
	}

	// PromQL that does not parse is the backend's message, not retryable.
	_, _, err = p.Execute("query", map[string]any{"query": "sum(rate(card_payment_requests_total[5s]"})
	if err == nil || !strings.Contains(err.Error(), "prometheus refused the query (400 Bad Request: bad_data: invalid parameter \"query\": 1:") {
		t.Errorf("bad PromQL: %v", err)
	}
}

// BenchmarkPrometheus measures the actions against the real Prometheus,
// through the plugin protocol (sdktest: in process, over gRPC): query, an
// instant PromQL ratio; incident, two checks (two range queries over
// 15m at a 15s step).
func BenchmarkPrometheus(b *testing.B) {
	exp := promtest.ServeExporter(b, map[string]promtest.Load{"stripe": {Requests: 100, Errors: 2, Fast: 90, Medium: 8, Slow: 2}})
	prom := promtest.Start(b, exp.Target())
	prom.WaitFor(b, fmt.Sprintf(latencyP95, "stripe"))
	p := startTB(b, newObservability(), map[string]any{"metrics": "prometheus", "prometheus": map[string]any{"url": prom.URL}})
	b.Run("query", func(b *testing.B) {
		with := map[string]any{"query": fmt.Sprintf(errorRatio, "stripe", "stripe")}
		for range b.N {
			if _, _, err := p.Execute("query", with); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("incident", func(b *testing.B) {
		with := map[string]any{"window": "15m", "checks": []any{
			map[string]any{"name": "error_rate", "query": fmt.Sprintf(errorRatio, "stripe", "stripe"), "threshold": 0.05},
			map[string]any{"name": "latency_p95", "query": fmt.Sprintf(latencyP95, "stripe"), "threshold": 2},
		}}
		for range b.N {
			if _, _, err := p.Execute("incident", with); err != nil {
				b.Fatal(err)
			}
		}
	})
}
