package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/stewardhq/steward/plugins/internal/httpmsg"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// prometheus queries the Prometheus HTTP API (/api/v1/query and
// /api/v1/query_range), which Grafana-managed Prometheus, Mimir, Cortex
// and Thanos also serve.
type prometheus struct {
	c   *client
	url string
}

func newPrometheus(s PrometheusSettings, rt http.RoundTripper) *prometheus {
	h := http.Header{}
	switch {
	case s.BearerToken != "":
		h.Set("Authorization", "Bearer "+s.BearerToken)
	case s.Username != "":
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.Username+":"+s.Password)))
	}
	if s.Tenant != "" {
		h.Set("X-Scope-OrgID", s.Tenant)
	}
	return &prometheus{c: newClient(backendPrometheus, s.URL, s.Timeout.Std(), rt, h), url: s.URL}
}

func (p *prometheus) name() string { return backendPrometheus }

// promResponse is the API's envelope; data.result depends on resultType.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
	Warnings []string `json:"warnings"`
}

func promError(b []byte) string {
	var r promResponse
	if json.Unmarshal(b, &r) == nil && r.Error != "" {
		return r.ErrorType + ": " + r.Error
	}
	return ""
}

func (p *prometheus) instant(ctx context.Context, query string, at time.Time) ([]series, error) {
	form := url.Values{"query": {query}, "time": {promTime(at)}}
	return p.call(ctx, "/api/v1/query", form)
}

func (p *prometheus) rangeQuery(ctx context.Context, query string, from, to time.Time, step time.Duration) ([]series, error) {
	form := url.Values{"query": {query}, "start": {promTime(from)}, "end": {promTime(to)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	return p.call(ctx, "/api/v1/query_range", form)
}

// call POSTs the form (a long PromQL query does not fit every URL) and
// reads the result as series.
func (p *prometheus) call(ctx context.Context, path string, form url.Values) ([]series, error) {
	var r promResponse
	if err := p.c.do(ctx, http.MethodPost, path, nil, form, &r, promError); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, sdk.Error(codeBadResponse, "prometheus answered status %q (%s: %s)", r.Status, r.ErrorType, r.Error)
	}
	ss, err := promSeries(r.Data.ResultType, r.Data.Result)
	if err != nil {
		return nil, sdk.Error(codeBadResponse, "prometheus answered a %s result that is not the documented shape: %v", r.Data.ResultType, err)
	}
	return ss, nil
}

// promSeries reads a vector, a matrix or a scalar.
func promSeries(kind string, raw json.RawMessage) ([]series, error) {
	switch kind {
	case "vector":
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  promSample        `json:"value"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		out := make([]series, 0, len(v))
		for _, s := range v {
			out = append(out, series{labels: nonNil(s.Metric), points: s.Value.points()})
		}
		return out, nil
	case "matrix":
		var m []struct {
			Metric map[string]string `json:"metric"`
			Values []promSample      `json:"values"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		out := make([]series, 0, len(m))
		for _, s := range m {
			var ps []point
			for _, v := range s.Values {
				ps = append(ps, v.points()...)
			}
			out = append(out, series{labels: nonNil(s.Metric), points: ps})
		}
		return out, nil
	case "scalar":
		var v promSample
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		return []series{{labels: map[string]string{}, points: v.points()}}, nil
	}
	return nil, fmt.Errorf("result type %q: query a number (a vector, a matrix or a scalar), not a string", kind)
}

// promSample is [unix seconds, "value"].
type promSample struct {
	t time.Time
	v float64
}

func (s *promSample) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("a sample is [time, \"value\"], got %s", httpmsg.Snippet(b))
	}
	var ts float64
	var val string
	if err := json.Unmarshal(pair[0], &ts); err != nil {
		return fmt.Errorf("a sample's time is a number, got %s", pair[0])
	}
	if err := json.Unmarshal(pair[1], &val); err != nil {
		return fmt.Errorf("a sample's value is a string, got %s", pair[1])
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return fmt.Errorf("a sample's value is a number in a string, got %q", val)
	}
	sec := int64(ts)
	s.t, s.v = time.Unix(sec, int64((ts-float64(sec))*1e9)).UTC(), v
	return nil
}

func (s promSample) points() []point {
	if !finite(s.v) {
		return nil
	}
	return []point{{t: s.t, v: s.v}}
}

func (p *prometheus) link(query string, from, to time.Time) string {
	q := url.Values{"g0.expr": {query}, "g0.tab": {"0"}, "g0.range_input": {shortDuration(to.Sub(from))}, "g0.end_input": {to.Format("2006-01-02 15:04:05")}}
	return p.c.base + "/graph?" + q.Encode()
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
