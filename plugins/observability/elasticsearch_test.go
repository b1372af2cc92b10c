package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// No Elasticsearch runs here: these tests run the elasticsearch backend
// against an httptest server built from Elasticsearch's documented request
// and response shapes (the _count API, the _search API with a terms
// aggregation, and the error body {"error": {"root_cause", "type",
// "reason"}, "status"}), not against Elasticsearch itself.

const esKey = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="

func TestElasticsearch(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "ApiKey "+esKey {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate with provided credentials"}],"type":"security_exception","reason":"unable to authenticate with provided credentials"},"status":401}`))
			return
		}
		var body struct {
			Size           *int            `json:"size"`
			TrackTotalHits bool            `json:"track_total_hits"`
			Query          json.RawMessage `json:"query"`
			Aggs           json.RawMessage `json:"aggs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		wantQuery := `{"bool":{"filter":[{"range":{"ts":{"format":"strict_date_optional_time","gte":"2026-12-06T09:30:00Z","lte":"2026-12-06T10:00:00Z"}}},{"query_string":{"query":"service:cards AND level:error"}}]}}`
		if string(body.Query) != wantQuery && !strings.Contains(string(body.Query), "bad query") {
			t.Errorf("%s query %s", r.URL.Path, body.Query)
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/logs-cards/_count":
			if strings.Contains(string(body.Query), "bad query") {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"root_cause":[{"type":"query_shard_exception","reason":"Failed to parse query [bad query:(]"}],"type":"search_phase_execution_exception","reason":"all shards failed"},"status":400}`))
				return
			}
			_, _ = w.Write([]byte(`{"count":1532,"_shards":{"total":3,"successful":3,"skipped":0,"failed":0}}`))
		case "/logs-cards/_search":
			if body.Size == nil || *body.Size != 0 || !body.TrackTotalHits || string(body.Aggs) != `{"top":{"terms":{"field":"msg.keyword","size":2}}}` {
				t.Errorf("search %s %v", body.Aggs, body.TrackTotalHits)
			}
			_, _ = w.Write([]byte(`{"took":5,"timed_out":false,"_shards":{"total":3,"successful":3,"skipped":0,"failed":0},
			  "hits":{"total":{"value":1532,"relation":"eq"},"max_score":null,"hits":[]},
			  "aggregations":{"top":{"doc_count_error_upper_bound":0,"sum_other_doc_count":130,"buckets":[
			    {"key":"card authorization failed: upstream timeout after 10s","doc_count":1100},
			    {"key":"card authorization failed: 503 from provider","doc_count":300}]}}}`))
		default:
			t.Errorf("path %s", r.URL.Path)
		}
	}))
	defer srv.Close()
	settings := map[string]any{"logs": "elasticsearch", "elasticsearch": map[string]any{
		"url": srv.URL, "index": "logs-cards", "api_key": esKey, "time_field": "ts", "message_field": "msg.keyword"}}
	p := start(t, settings, now)
	out, logs, err := p.Execute("logs_count", map[string]any{"query": "service:cards AND level:error", "window": "30m"})
	if err != nil || out["count"] != float64(1532) || out["backend"] != "elasticsearch" || out["from"] != "2026-12-06T09:30:00Z" {
		t.Errorf("count: %v %v", out, err)
	}
	noSecret(t, esKey, out, logs, err)
	out, _, err = p.Execute("top_messages", map[string]any{"query": "service:cards AND level:error", "window": "30m", "limit": 2})
	if err != nil {
		t.Fatal(err)
	}
	// 1532 lines: 1400 in the two buckets, 130 in other buckets, 2
	// without the field: other counts both.
	if fmt.Sprint(out["messages"]) != "[map[count:1100 message:card authorization failed: upstream timeout after 10s] map[count:300 message:card authorization failed: 503 from provider]]" ||
		out["total"] != float64(1532) || out["other"] != float64(132) || out["partial"] != false || out["sample"] != float64(0) {
		t.Errorf("top: %v", out)
	}
	_, _, err = p.Execute("logs_count", map[string]any{"query": "bad query:(", "window": "30m"})
	wantErr(t, err, "invalid_query", false, "elasticsearch refused the query (400 Bad Request: search_phase_execution_exception: all shards failed (Failed to parse query [bad query:(]))")

	settings["elasticsearch"].(map[string]any)["api_key"] = "d3Jvbmc="
	wrong := start(t, settings, now)
	_, _, err = wrong.Execute("logs_count", map[string]any{"query": "x"})
	wantErr(t, err, "auth_failed", false, "elasticsearch refused the credentials (401 Unauthorized: security_exception: unable to authenticate with provided credentials): check plugins.settings.observability.elasticsearch")
}
