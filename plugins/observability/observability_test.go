package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a fresh plugin with settings; now, when not zero, is its
// clock.
func start(t *testing.T, settings map[string]any, now time.Time) *sdktest.Plugin {
	t.Helper()
	o := newObservability()
	if !now.IsZero() {
		o.now = func() time.Time { return now }
	}
	p := sdktest.Start(t, o.plugin())
	if err := p.Configure(settings); err != nil {
		t.Fatal(err)
	}
	return p
}

// near says whether a number output is v, within a millionth.
func near(got any, v float64) bool {
	f, ok := got.(float64)
	return ok && math.Abs(f-v) < 1e-6
}

// noSecret fails the test if secret is in the error, the outputs or the
// logs.
func noSecret(t *testing.T, secret string, out map[string]any, logs []sdktest.Log, err error) {
	t.Helper()
	for what, s := range map[string]string{"error": fmt.Sprint(err), "outputs": fmt.Sprint(out), "logs": fmt.Sprint(logs)} {
		if strings.Contains(s, secret) {
			t.Errorf("the secret %q is in the %s: %s", secret, what, s)
		}
	}
}

func TestDescribe(t *testing.T) {
	p := start(t, nil, time.Time{})
	d := p.Describe()
	var names []string
	for _, a := range d.Actions {
		names = append(names, fmt.Sprintf("%s mutates=%v requires=%s", a.Name, a.Mutates, strings.Join(a.Input.Required, ",")))
	}
	want := `observability.incident mutates=false requires=checks
observability.logs_count mutates=false requires=query
observability.query mutates=false requires=query
observability.range mutates=false requires=query
observability.top_messages mutates=false requires=query`
	if got := strings.Join(names, "\n"); got != want {
		t.Errorf("actions:\n%s\nwant\n%s", got, want)
	}
}

// TestNotConfigured: without settings every action fails with
// not_configured, saying what to set; the support runbooks read that as
// "health check skipped".
func TestNotConfigured(t *testing.T) {
	p := start(t, nil, time.Time{})
	_, _, err := p.Execute("incident", map[string]any{"checks": []any{map[string]any{"query": "up", "threshold": 1}}})
	sdktest.WantError(t, err, "not_configured", false, "no metrics backend is configured: set plugins.settings.observability.metrics to prometheus or datadog (or sandbox to try it) in steward.yaml")
	_, _, err = p.Execute("logs_count", map[string]any{"query": "*"})
	sdktest.WantError(t, err, "not_configured", false, "no logs backend is configured: set plugins.settings.observability.logs to elasticsearch or datadog (or sandbox to try it) in steward.yaml")
}

func TestSettings(t *testing.T) {
	const secret = "s3cret-T0ken"
	p := sdktest.Start(t, New())
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"metrics": "prometheus"},
			`prometheus.url must be an http(s) URL such as http://prometheus:9090 (without credentials: use the settings' own fields), got ""`},
		{map[string]any{"metrics": "prometheus", "prometheus": map[string]any{"url": "http://u:" + secret + "@prom:9090", "bearer_token": secret, "username": "u"}},
			"prometheus.url must be an http(s) URL such as http://prometheus:9090 (without credentials: use the settings' own fields), got \"http://%2A%2A%2A@prom:9090\"\n" +
				"prometheus: set bearer_token or username and password, not both\n" +
				"prometheus: basic auth needs both username and password: set password to {secret: PROMETHEUS_PASSWORD}"},
		{map[string]any{"logs": "datadog", "datadog": map[string]any{"api_key": secret, "site": "https://datadoghq.eu"}},
			"datadog needs api_key and application_key: set them to {secret: DD_API_KEY} and {secret: DD_APP_KEY}\n" +
				`datadog.site is a host name such as datadoghq.com or datadoghq.eu, without a scheme, got "https://datadoghq.eu"`},
		{map[string]any{"logs": "elasticsearch", "elasticsearch": map[string]any{"url": "http://es:9200", "index": "", "timeout": "5m"}},
			"elasticsearch.index must be an index name or pattern such as logs-*, got \"\"\nelasticsearch.timeout must be between 0s and 2m, got 5m0s"},
		{map[string]any{"metrics": "sandbox", "link": "https://grafana.example.org/explore"},
			`link must say where the query goes with {query}, such as https://grafana.example.org/explore?left={query}, got "https://grafana.example.org/explore"`},
		{map[string]any{"metrics": "graphite"}, `settings.metrics must be one of ["none", "prometheus", "datadog", "sandbox"], got "graphite"`},
	} {
		err := p.Configure(c.settings)
		if err == nil || err.Error() != c.want {
			t.Errorf("settings %v:\n%v\nwant\n%s", c.settings, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the secret is in the error: %v", err)
		}
	}
	for _, s := range []map[string]any{
		{},
		{"metrics": "prometheus", "prometheus": map[string]any{"url": "https://prometheus-prod-01.grafana.net/api/prom", "username": "123456", "password": secret, "tenant": "support"}},
		{"metrics": "datadog", "logs": "datadog", "datadog": map[string]any{"api_key": secret, "application_key": secret, "site": "datadoghq.eu"}},
		{"metrics": "sandbox", "logs": "elasticsearch", "elasticsearch": map[string]any{"url": "https://logs.example.org:9200", "api_key": secret}},
	} {
		if err := p.Configure(s); err != nil {
			t.Errorf("settings %v: %v", s, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	p := start(t, map[string]any{"metrics": "sandbox", "logs": "sandbox"}, time.Time{})
	for _, c := range []struct {
		action string
		with   map[string]any
		want   string
	}{
		{"query", map[string]any{"query": " "}, "with.query is empty: give the metric query"},
		{"range", map[string]any{"query": "up", "window": "720h"}, "with.window must be between 1s and 168h, got 720h0m0s"},
		{"range", map[string]any{"query": "up", "window": "1h", "step": "1s"}, "with.step 1s gives 3600 points over 1h0m0s, at most 1000 are allowed: raise the step"},
		{"range", map[string]any{"query": "up", "window": "1m", "step": "2m"}, "with.step must be between 1s and the window (1m0s), got 2m0s"},
		{"incident", map[string]any{"checks": []any{}}, "with.checks is empty: give at least one {query, threshold}"},
		{"incident", map[string]any{"checks": []any{map[string]any{"query": "", "threshold": 1}}}, "with.checks[0].query is empty"},
		{"top_messages", map[string]any{"query": ""}, "with.query is empty: give the logs query (* for every line)"},
	} {
		_, _, err := p.Execute(c.action, c.with)
		sdktest.WantError(t, err, "invalid_input", false, c.want)
	}
	_, _, err := p.Execute("top_messages", map[string]any{"query": "*", "limit": 50})
	sdktest.WantError(t, err, "invalid_input", false, "with.limit must be at most 20, got 50")
}

func TestSandbox(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	p := start(t, map[string]any{"metrics": "sandbox", "logs": "sandbox"}, now)
	out, _, err := p.Execute("incident", map[string]any{"checks": []any{
		map[string]any{"name": "error_rate", "query": `errors{provider="outage"}`, "threshold": 0.05},
		map[string]any{"name": "latency_p95", "query": "latency", "threshold": 2},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out["incident"] != true || out["check"] != "error_rate" || !near(out["value"], 0.25) || out["backend"] != "sandbox" ||
		out["summary"] != "incident: error_rate 0.25 > 0.05 over the last 15m (avg)" || out["from"] != "2026-12-06T09:45:00Z" {
		t.Errorf("outage: %v", out)
	}
	out, _, err = p.Execute("incident", map[string]any{"checks": []any{map[string]any{"name": "error_rate", "query": "errors", "threshold": 0.05}}, "window": "30m"})
	if err != nil || out["incident"] != false || out["summary"] != "no incident: error_rate 0.002 ≤ 0.05 over the last 30m (avg)" {
		t.Errorf("calm: %v %v", out, err)
	}
	out, _, err = p.Execute("top_messages", map[string]any{"query": "service:cards outage", "limit": 2})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out["messages"]) != "[map[count:812 message:card authorization failed: upstream timeout after 10s] map[count:301 message:card authorization failed: 503 Service Unavailable from provider]]" ||
		out["total"] != float64(1240) || out["other"] != float64(127) || out["partial"] != false {
		t.Errorf("top: %v", out)
	}
	out, _, err = p.Execute("logs_count", map[string]any{"query": "status:error"})
	if err != nil || out["count"] != float64(12) || out["to"] != "2026-12-06T10:00:00Z" {
		t.Errorf("count: %v %v", out, err)
	}
}

func startTB(tb testing.TB, o *observability, settings map[string]any) *sdktest.Plugin {
	tb.Helper()
	p := sdktest.Start(tb, o.plugin())
	if err := p.Configure(settings); err != nil {
		tb.Fatal(err)
	}
	return p
}
