package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// datadog queries Datadog's metrics API (GET /api/v1/query) and logs APIs
// (POST /api/v2/logs/analytics/aggregate for counts, POST
// /api/v2/logs/events/search for messages), with the API and application
// keys in the DD-API-KEY and DD-APPLICATION-KEY headers.
type datadog struct {
	c    *client
	site string
}

// ddSample is how many of the newest lines top_messages groups: one page
// of the search API, its maximum.
const ddSample = 1000

func newDatadog(s DatadogSettings, rt http.RoundTripper) *datadog {
	h := http.Header{}
	h.Set("DD-API-KEY", s.APIKey)
	h.Set("DD-APPLICATION-KEY", s.ApplicationKey)
	return &datadog{c: newClient(backendDatadog, s.BaseURL, s.Timeout.Std(), rt, h), site: s.Site}
}

func (d *datadog) name() string { return backendDatadog }

// ddErrors reads {"errors": ["..."]}, the API's error body.
func ddErrors(b []byte) string {
	var r struct {
		Errors []any `json:"errors"`
	}
	if json.Unmarshal(b, &r) != nil || len(r.Errors) == 0 {
		return ""
	}
	var parts []string
	for _, e := range r.Errors {
		switch e := e.(type) {
		case string:
			parts = append(parts, e)
		case map[string]any: // v2: {"title": ..., "detail": ...}
			t, _ := e["title"].(string)
			dt, _ := e["detail"].(string)
			parts = append(parts, strings.TrimSpace(t+" "+dt))
		}
	}
	return cut(strings.Join(parts, "; "), 300)
}

// ddQueryResponse is GET /api/v1/query's answer.
type ddQueryResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Series []struct {
		Scope     string       `json:"scope"`
		TagSet    []string     `json:"tag_set"`
		Metric    string       `json:"metric"`
		Pointlist [][]*float64 `json:"pointlist"`
	} `json:"series"`
}

func (d *datadog) instant(ctx context.Context, query string, at time.Time) ([]series, error) {
	// The metrics API has no instant query: the last point of the last
	// five minutes is the value now.
	ss, err := d.rangeQuery(ctx, query, at.Add(-5*time.Minute), at, 0)
	for i := range ss {
		if n := len(ss[i].points); n > 0 {
			ss[i].points = ss[i].points[n-1:]
		}
	}
	return ss, err
}

// rangeQuery asks for [from, to]; Datadog chooses the resolution from the
// window (step is not an argument of this API).
func (d *datadog) rangeQuery(ctx context.Context, query string, from, to time.Time, _ time.Duration) ([]series, error) {
	q := url.Values{"from": {strconv.FormatInt(from.Unix(), 10)}, "to": {strconv.FormatInt(to.Unix(), 10)}, "query": {query}}
	var r ddQueryResponse
	if err := d.c.do(ctx, http.MethodGet, "/api/v1/query", q, nil, &r, ddErrors); err != nil {
		return nil, err
	}
	if r.Status != "ok" {
		if r.Error != "" {
			return nil, sdk.Error(codeInvalidQuery, "datadog refused the query: %s", cut(r.Error, 300))
		}
		return nil, sdk.Error(codeBadResponse, "datadog answered status %q without an error", r.Status)
	}
	out := make([]series, 0, len(r.Series))
	for _, s := range r.Series {
		labels := map[string]string{}
		for _, tag := range s.TagSet {
			k, v, _ := strings.Cut(tag, ":")
			labels[k] = v
		}
		var ps []point
		for _, p := range s.Pointlist {
			if len(p) != 2 || p[0] == nil {
				return nil, sdk.Error(codeBadResponse, "datadog answered a point that is not [milliseconds, value] in the series of %s", s.Metric)
			}
			if p[1] != nil && finite(*p[1]) { // null: no data at that time
				ps = append(ps, point{t: time.UnixMilli(int64(*p[0])).UTC(), v: *p[1]})
			}
		}
		out = append(out, series{labels: labels, points: ps})
	}
	return out, nil
}

func (d *datadog) link(query string, from, to time.Time) string {
	q := url.Values{"exp_query": {query}, "from_ts": {strconv.FormatInt(from.UnixMilli(), 10)}, "to_ts": {strconv.FormatInt(to.UnixMilli(), 10)}}
	return "https://app." + d.site + "/metric/explorer?" + q.Encode()
}

type ddFilter struct {
	Query string `json:"query"`
	From  string `json:"from"`
	To    string `json:"to"`
}

func ddFilterOf(q logQuery) ddFilter {
	return ddFilter{Query: q.query, From: strconv.FormatInt(q.from.UnixMilli(), 10), To: strconv.FormatInt(q.to.UnixMilli(), 10)}
}

// count asks the analytics API for the total count.
func (d *datadog) count(ctx context.Context, q logQuery) (int64, error) {
	body := map[string]any{
		"compute": []map[string]string{{"aggregation": "count", "type": "total"}},
		"filter":  ddFilterOf(q),
	}
	var r struct {
		Data struct {
			Buckets []struct {
				Computes map[string]json.Number `json:"computes"`
			} `json:"buckets"`
		} `json:"data"`
		Meta struct {
			Status string `json:"status"`
		} `json:"meta"`
	}
	if err := d.c.do(ctx, http.MethodPost, "/api/v2/logs/analytics/aggregate", nil, body, &r, ddErrors); err != nil {
		return 0, err
	}
	if r.Meta.Status == "timeout" {
		return 0, sdk.Retryable(sdk.CodeTimeout, "datadog's logs aggregation timed out on its side: narrow the query or the window")
	}
	if len(r.Data.Buckets) == 0 {
		return 0, nil // no line matched
	}
	n, err := r.Data.Buckets[0].Computes["c0"].Int64()
	if err != nil {
		return 0, sdk.Error(codeBadResponse, "datadog answered a count that is not a whole number (computes.c0): %v", err)
	}
	return n, nil
}

// top groups the newest ddSample lines by message, and counts every line
// with the analytics API.
func (d *datadog) top(ctx context.Context, q logQuery, n int) (topResult, error) {
	total, err := d.count(ctx, q)
	if err != nil {
		return topResult{}, err
	}
	body := map[string]any{"filter": ddFilterOf(q), "page": map[string]int{"limit": ddSample}, "sort": "-timestamp"}
	var r struct {
		Data []struct {
			Attributes struct {
				Message string `json:"message"`
			} `json:"attributes"`
		} `json:"data"`
		Meta struct {
			Page struct {
				After string `json:"after"`
			} `json:"page"`
		} `json:"meta"`
	}
	if err := d.c.do(ctx, http.MethodPost, "/api/v2/logs/events/search", nil, body, &r, ddErrors); err != nil {
		return topResult{}, err
	}
	counts := map[string]int64{}
	for _, e := range r.Data {
		counts[cut(strings.TrimSpace(e.Attributes.Message), maxMessageChars)]++
	}
	msgs := make([]MessageCount, 0, len(counts))
	for m, c := range counts {
		msgs = append(msgs, MessageCount{Message: m, Count: c})
	}
	sort.Slice(msgs, func(i, j int) bool {
		if msgs[i].Count != msgs[j].Count {
			return msgs[i].Count > msgs[j].Count
		}
		return msgs[i].Message < msgs[j].Message
	})
	if len(msgs) > n {
		msgs = msgs[:n]
	}
	listed := int64(0)
	for _, m := range msgs {
		listed += m.Count
	}
	res := topResult{messages: msgs, total: total, sample: len(r.Data), partial: r.Meta.Page.After != "" || int64(len(r.Data)) < total}
	res.other = int64(len(r.Data)) - listed
	return res, nil
}
