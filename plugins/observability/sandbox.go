package main

import (
	"context"
	"strings"
	"time"
)

// sandbox answers from fixtures, without a network, for the quickstart and
// tests of runbooks that read metrics and logs. Its rules (also in
// docs/plugins-observability.md):
//
//   - a metric query that contains "outage" is 0.25 (a quarter of
//     requests failing); any other is 0.002, with one series labelled
//     sandbox="calm" or sandbox="outage";
//   - a logs query that contains "outage" matches 1240 lines, any other 12;
//     top_messages lists the fixtures' messages below.
type sandbox struct{}

func (sandbox) name() string { return backendSandbox }

func sandboxValue(query string) (float64, string) {
	if strings.Contains(query, "outage") {
		return 0.25, "outage"
	}
	return 0.002, "calm"
}

func (sandbox) instant(_ context.Context, query string, at time.Time) ([]series, error) {
	v, kind := sandboxValue(query)
	return []series{{labels: map[string]string{"sandbox": kind}, points: []point{{at, v}}}}, nil
}

func (sandbox) rangeQuery(_ context.Context, query string, from, to time.Time, step time.Duration) ([]series, error) {
	v, kind := sandboxValue(query)
	var ps []point
	for t := from; !t.After(to); t = t.Add(step) {
		ps = append(ps, point{t, v})
	}
	return []series{{labels: map[string]string{"sandbox": kind}, points: ps}}, nil
}

func (sandbox) link(string, time.Time, time.Time) string { return "" }

// sandboxMessages are the fixtures' log messages, most frequent first,
// with their share of the outage's lines.
var sandboxMessages = []MessageCount{
	{"card authorization failed: upstream timeout after 10s", 812},
	{"card authorization failed: 503 Service Unavailable from provider", 301},
	{"retrying authorization (attempt 2 of 3)", 97},
	{"3-D Secure challenge abandoned by cardholder", 21},
	{"card declined: insufficient_funds", 9},
}

func (sandbox) count(_ context.Context, q logQuery) (int64, error) {
	if strings.Contains(q.query, "outage") {
		return 1240, nil
	}
	return 12, nil
}

func (s sandbox) top(ctx context.Context, q logQuery, n int) (topResult, error) {
	total, _ := s.count(ctx, q)
	msgs := []MessageCount{{"3-D Secure challenge abandoned by cardholder", 8}, {"card declined: insufficient_funds", 4}}
	if total > 12 {
		msgs = append([]MessageCount(nil), sandboxMessages...)
	}
	if len(msgs) > n {
		msgs = msgs[:n]
	}
	listed := int64(0)
	for _, m := range msgs {
		listed += m.Count
	}
	return topResult{messages: msgs, total: total, other: total - listed}, nil
}
