package promtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Load is what one provider does between two scrapes: requests (of which
// errors failed), and how long they took: fast ones within 0.1s, medium
// within 0.5s, slow within 2.5s.
type Load struct {
	Requests, Errors   int
	Fast, Medium, Slow int
}

// Exporter serves, in the Prometheus text format, the card payment metrics
// of the providers of loads: every scrape adds one Load to the counters
//
//	card_payment_requests_total{provider, outcome="ok"|"error"}
//	card_payment_duration_seconds_bucket{provider, le="0.1"|"0.5"|"2.5"|"+Inf"}
//
// so that rates, ratios and quantiles are exact whatever the timing.
type Exporter struct {
	mu     sync.Mutex
	loads  map[string]Load
	totals map[string]Load
	srv    *httptest.Server
}

// ServeExporter starts an exporter, stopped when the test ends.
func ServeExporter(t testing.TB, loads map[string]Load) *Exporter {
	e := &Exporter{loads: loads, totals: map[string]Load{}}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// Target is host:port, for the scrape config.
func (e *Exporter) Target() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// Set changes a provider's load from the next scrape on.
func (e *Exporter) Set(provider string, l Load) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.loads[provider] = l
}

func (e *Exporter) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.loads))
	for p, l := range e.loads {
		t := e.totals[p]
		t.Requests, t.Errors = t.Requests+l.Requests, t.Errors+l.Errors
		t.Fast, t.Medium, t.Slow = t.Fast+l.Fast, t.Medium+l.Medium, t.Slow+l.Slow
		e.totals[p] = t
		names = append(names, p)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# HELP card_payment_requests_total Card payment requests to the provider.\n# TYPE card_payment_requests_total counter\n")
	for _, p := range names {
		t := e.totals[p]
		fmt.Fprintf(&b, "card_payment_requests_total{provider=%q,outcome=\"ok\"} %d\n", p, t.Requests-t.Errors)
		fmt.Fprintf(&b, "card_payment_requests_total{provider=%q,outcome=\"error\"} %d\n", p, t.Errors)
	}
	b.WriteString("# HELP card_payment_duration_seconds Time the provider took to answer.\n# TYPE card_payment_duration_seconds histogram\n")
	for _, p := range names {
		t := e.totals[p]
		n := t.Fast + t.Medium + t.Slow
		for _, bk := range []struct {
			le string
			n  int
		}{{"0.1", t.Fast}, {"0.5", t.Fast + t.Medium}, {"2.5", n}, {"+Inf", n}} {
			fmt.Fprintf(&b, "card_payment_duration_seconds_bucket{provider=%q,le=%q} %d\n", p, bk.le, bk.n)
		}
		fmt.Fprintf(&b, "card_payment_duration_seconds_sum{provider=%q} %g\n", p, 0.05*float64(t.Fast)+0.3*float64(t.Medium)+1.5*float64(t.Slow))
		fmt.Fprintf(&b, "card_payment_duration_seconds_count{provider=%q} %d\n", p, n)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(b.String()))
}
