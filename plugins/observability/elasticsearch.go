package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/stewardhq/steward/plugins/internal/httpmsg"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// elasticsearch counts and groups log lines in an Elasticsearch (or
// OpenSearch) index: POST INDEX/_count, and POST INDEX/_search with a terms
// aggregation, each filtered by a query_string and a time range.
type elasticsearch struct {
	c                 *client
	index             string
	timeField, msgKey string
}

func newElasticsearch(s ElasticsearchSettings, rt http.RoundTripper) *elasticsearch {
	h := http.Header{}
	switch {
	case s.APIKey != "":
		h.Set("Authorization", "ApiKey "+s.APIKey)
	case s.Username != "":
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.Username+":"+s.Password)))
	}
	return &elasticsearch{c: newClient(backendElasticsearch, s.URL, s.Timeout.Std(), rt, h),
		index: s.Index, timeField: s.TimeField, msgKey: s.MessageField}
}

func (e *elasticsearch) name() string { return backendElasticsearch }

// esError reads {"error": {"type", "reason", "root_cause"}, "status"}.
func esError(b []byte) string {
	var r struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &r) != nil || len(r.Error) == 0 {
		return ""
	}
	var obj struct {
		Type      string `json:"type"`
		Reason    string `json:"reason"`
		RootCause []struct {
			Reason string `json:"reason"`
		} `json:"root_cause"`
	}
	if json.Unmarshal(r.Error, &obj) != nil {
		var s string
		_ = json.Unmarshal(r.Error, &s)
		return cut(s, 300)
	}
	msg := obj.Type + ": " + obj.Reason
	if len(obj.RootCause) > 0 && obj.RootCause[0].Reason != "" && obj.RootCause[0].Reason != obj.Reason {
		msg += " (" + obj.RootCause[0].Reason + ")"
	}
	return cut(msg, 300)
}

// filter is the bool query both requests use.
func (e *elasticsearch) filter(q logQuery) map[string]any {
	return map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"range": map[string]any{e.timeField: map[string]any{
			"gte": q.from.Format(time.RFC3339Nano), "lte": q.to.Format(time.RFC3339Nano), "format": "strict_date_optional_time"}}},
		map[string]any{"query_string": map[string]any{"query": q.query}},
	}}}
}

func (e *elasticsearch) path(api string) string { return "/" + url.PathEscape(e.index) + "/" + api }

func (e *elasticsearch) count(ctx context.Context, q logQuery) (int64, error) {
	var r struct {
		Count  *int64 `json:"count"`
		Shards struct {
			Failed int `json:"failed"`
		} `json:"_shards"`
	}
	if err := e.c.do(ctx, http.MethodPost, e.path("_count"), nil, map[string]any{"query": e.filter(q)}, &r, esError); err != nil {
		return 0, err
	}
	if r.Count == nil {
		return 0, sdk.Error(codeBadResponse, "elasticsearch answered _count without a count")
	}
	if r.Shards.Failed > 0 {
		return 0, sdk.Retryable(codeUnavailable, "elasticsearch: %d shards failed to count: the count would be too low; try again", r.Shards.Failed)
	}
	return *r.Count, nil
}

func (e *elasticsearch) top(ctx context.Context, q logQuery, n int) (topResult, error) {
	body := map[string]any{
		"size":             0,
		"track_total_hits": true,
		"query":            e.filter(q),
		"aggs":             map[string]any{"top": map[string]any{"terms": map[string]any{"field": e.msgKey, "size": n}}},
	}
	var r struct {
		TimedOut bool `json:"timed_out"`
		Hits     struct {
			Total struct {
				Value int64 `json:"value"`
			} `json:"total"`
		} `json:"hits"`
		Aggregations *struct {
			Top struct {
				SumOther int64 `json:"sum_other_doc_count"`
				Buckets  []struct {
					Key      any   `json:"key"`
					DocCount int64 `json:"doc_count"`
				} `json:"buckets"`
			} `json:"top"`
		} `json:"aggregations"`
	}
	if err := e.c.do(ctx, http.MethodPost, e.path("_search"), nil, body, &r, esError); err != nil {
		return topResult{}, err
	}
	if r.TimedOut {
		return topResult{}, sdk.Retryable(sdk.CodeTimeout, "elasticsearch timed out on its side: narrow the query or the window")
	}
	if r.Aggregations == nil {
		return topResult{}, sdk.Error(codeBadResponse, "elasticsearch answered _search without the terms aggregation: is %s a keyword field (elasticsearch.message_field)?", e.msgKey)
	}
	res := topResult{total: r.Hits.Total.Value}
	listed := int64(0)
	for _, b := range r.Aggregations.Top.Buckets {
		key, ok := b.Key.(string)
		if !ok {
			key = strings.TrimSpace(httpmsg.Snippet(mustJSON(b.Key)))
		}
		res.messages = append(res.messages, MessageCount{Message: key, Count: b.DocCount})
		listed += b.DocCount
	}
	// Lines without the field are in neither the buckets nor sum_other.
	res.other = res.total - listed
	return res, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
