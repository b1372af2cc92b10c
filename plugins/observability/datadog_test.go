package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Datadog is not reachable from here: these tests run the datadog backend
// against an httptest server built from Datadog's documented request and
// response shapes (docs.datadoghq.com/api/latest/metrics "Query timeseries
// points", /logs "Aggregate events" and "Search logs"), not against
// Datadog itself.

const (
	ddAPIKey = "dd-api-key-SECRET-0001"
	ddAppKey = "dd-app-key-SECRET-0002"
)

func datadogServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body map[string]any)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("DD-API-KEY") != ddAPIKey || r.Header.Get("DD-APPLICATION-KEY") != ddAppKey {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":["Forbidden"]}`))
			return
		}
		var body map[string]any
		if r.Method == http.MethodPost {
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Errorf("%s: body: %v", r.URL.Path, err)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		handle(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func ddSettings(base string) map[string]any {
	return map[string]any{"metrics": "datadog", "logs": "datadog",
		"datadog": map[string]any{"api_key": ddAPIKey, "application_key": ddAppKey, "base_url": base, "site": "datadoghq.eu"}}
}

func TestDatadogMetrics(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	srv := datadogServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/query" || q.Get("to") != fmt.Sprint(now.Unix()) {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		from := q.Get("from")
		if q.Get("query") == "bad{" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errors":["Error parsing query: unable to parse bad{: Rule 'scope_expr' didn't match"]}`))
			return
		}
		// The documented shape: series with tag_set and pointlist of
		// [milliseconds, value or null].
		fmt.Fprintf(w, `{"status":"ok","res_type":"time_series","from_date":%s000,"to_date":%d000,"query":%q,"group_by":["provider"],
		  "series":[
		    {"metric":"payments.errors","display_name":"payments.errors","scope":"provider:adyen","tag_set":["provider:adyen"],"expression":"x","interval":60,"length":3,
		     "pointlist":[[%d000,0.2],[%d000,null],[%d000,0.4]]},
		    {"metric":"payments.errors","scope":"provider:stripe","tag_set":["provider:stripe"],"pointlist":[[%d000,0.01],[%d000,0.03]]}]}`,
			from, now.Unix(), q.Get("query"), now.Unix()-120, now.Unix()-60, now.Unix(), now.Unix()-60, now.Unix())
	})
	p := start(t, ddSettings(srv.URL), now)
	out, _, err := p.Execute("query", map[string]any{"query": "avg:payments.error_ratio{*} by {provider}"})
	if err != nil {
		t.Fatal(err)
	}
	if out["value"] != 0.4 || out["series_count"] != float64(2) || out["backend"] != "datadog" ||
		fmt.Sprint(out["series"]) != "[map[labels:map[provider:adyen] value:0.4] map[labels:map[provider:stripe] value:0.03]]" ||
		out["link"] != fmt.Sprintf("https://app.datadoghq.eu/metric/explorer?exp_query=avg%%3Apayments.error_ratio%%7B%%2A%%7D+by+%%7Bprovider%%7D&from_ts=%d&to_ts=%d",
			now.Add(-15*time.Minute).UnixMilli(), now.UnixMilli()) {
		t.Errorf("query: %v", out)
	}
	out, _, err = p.Execute("incident", map[string]any{"checks": []any{map[string]any{"name": "error_rate", "query": "avg:payments.error_ratio{*} by {provider}", "threshold": 0.25}}})
	if err != nil {
		t.Fatal(err)
	}
	// adyen's average of its two points (null left out) is 0.3.
	if out["incident"] != true || !near(out["value"], 0.3) || fmt.Sprint(out["checks"].([]any)[0].(map[string]any)["labels"]) != "map[provider:adyen]" {
		t.Errorf("incident: %v", out)
	}
	_, _, err = p.Execute("query", map[string]any{"query": "bad{"})
	wantErr(t, err, "invalid_query", false, "datadog refused the query (400 Bad Request: Error parsing query: unable to parse bad{: Rule 'scope_expr' didn't match)")

	wrong := start(t, map[string]any{"metrics": "datadog", "datadog": map[string]any{"api_key": "wrong", "application_key": "wrong", "base_url": srv.URL}}, now)
	_, _, err = wrong.Execute("query", map[string]any{"query": "x"})
	wantErr(t, err, "auth_failed", false, "datadog refused the credentials (403 Forbidden: Forbidden): check plugins.settings.observability.datadog")
}

func TestDatadogLogs(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	from := fmt.Sprint(now.Add(-15 * time.Minute).UnixMilli())
	srv := datadogServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		filter, _ := body["filter"].(map[string]any)
		if filter["query"] != "service:cards status:error" || filter["from"] != from || filter["to"] != fmt.Sprint(now.UnixMilli()) {
			t.Errorf("%s filter %v", r.URL.Path, filter)
		}
		switch r.URL.Path {
		case "/api/v2/logs/analytics/aggregate":
			if fmt.Sprint(body["compute"]) != "[map[aggregation:count type:total]]" {
				t.Errorf("compute %v", body["compute"])
			}
			_, _ = w.Write([]byte(`{"meta":{"status":"done","elapsed":12,"request_id":"r1"},"data":{"buckets":[{"by":{},"computes":{"c0":1480}}]}}`))
		case "/api/v2/logs/events/search":
			if fmt.Sprint(body["page"]) != "map[limit:1000]" || body["sort"] != "-timestamp" {
				t.Errorf("search %v", body)
			}
			// Three lines of the newest page, and a cursor: more matched.
			_, _ = w.Write([]byte(`{"data":[
			  {"id":"a","type":"log","attributes":{"message":"upstream timeout","status":"error","service":"cards","timestamp":"2026-12-06T09:59:00Z","tags":[]}},
			  {"id":"b","type":"log","attributes":{"message":"upstream timeout","status":"error","service":"cards"}},
			  {"id":"c","type":"log","attributes":{"message":"503 from provider","status":"error","service":"cards"}}],
			  "links":{"next":"https://api.datadoghq.eu/api/v2/logs/events/search?page[cursor]=x"},"meta":{"page":{"after":"x"},"status":"done","elapsed":30}}`))
		default:
			t.Errorf("path %s", r.URL.Path)
		}
	})
	p := start(t, ddSettings(srv.URL), now)
	out, _, err := p.Execute("logs_count", map[string]any{"query": "service:cards status:error"})
	if err != nil || out["count"] != float64(1480) || out["backend"] != "datadog" {
		t.Errorf("count: %v %v", out, err)
	}
	out, _, err = p.Execute("top_messages", map[string]any{"query": "service:cards status:error", "limit": 1})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out["messages"]) != "[map[count:2 message:upstream timeout]]" || out["total"] != float64(1480) ||
		out["sample"] != float64(3) || out["partial"] != true || out["other"] != float64(1) {
		t.Errorf("top: %v", out)
	}
}
