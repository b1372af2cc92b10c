package main

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// point is one sample of a series; series is one labelled time series.
type point struct {
	t time.Time
	v float64
}

type series struct {
	labels map[string]string
	points []point
}

// metricsBackend answers metric queries. Non-finite values (NaN, ±Inf)
// are left out of the points.
type metricsBackend interface {
	name() string
	instant(ctx context.Context, query string, at time.Time) ([]series, error)
	rangeQuery(ctx context.Context, query string, from, to time.Time, step time.Duration) ([]series, error)
	// link is the backend's own page for the query, or "".
	link(query string, from, to time.Time) string
}

// logQuery is a logs query over [from, to].
type logQuery struct {
	query    string
	from, to time.Time
}

// topResult is the most frequent messages of a logs query.
type topResult struct {
	messages []MessageCount
	total    int64 // lines matched
	other    int64 // lines outside the messages listed
	sample   int   // lines grouped when the backend groups a sample; 0 when exact
	partial  bool  // more lines matched than were grouped
}

// logsBackend answers logs queries.
type logsBackend interface {
	name() string
	count(ctx context.Context, q logQuery) (int64, error)
	top(ctx context.Context, q logQuery, n int) (topResult, error)
}

// Caps on what an action returns.
const (
	defaultMaxSeries = 10
	maxMessageChars  = 300
	maxWindow        = 7 * 24 * time.Hour
	maxPoints        = 1000
	defaultWindow    = 15 * time.Minute
)

// QueryInput is the with of observability.query.
type QueryInput struct {
	Query     string `json:"query" desc:"the metric query: PromQL for prometheus, a Datadog metrics query for datadog"`
	MaxSeries int    `json:"max_series,omitempty" min:"1" max:"50" desc:"how many series the table keeps (default 10)"`
}

// SeriesValue is one series of a query's answer.
type SeriesValue struct {
	Labels map[string]string `json:"labels" desc:"the series' labels (Datadog: its tags)"`
	Value  float64           `json:"value"`
}

// QueryOutput is what observability.query returns.
type QueryOutput struct {
	Value       float64       `json:"value" desc:"the first series' value; 0 when empty"`
	Empty       bool          `json:"empty" desc:"true when the query matched no series (no data is not zero: check it)"`
	Series      []SeriesValue `json:"series" desc:"the series, largest value first, at most max_series"`
	SeriesCount int           `json:"series_count" desc:"how many series the query returned"`
	Truncated   bool          `json:"truncated" desc:"true when series were left out of the table"`
	Query       string        `json:"query"`
	At          time.Time     `json:"at" desc:"when the query was evaluated"`
	Backend     string        `json:"backend" enum:"prometheus,datadog,sandbox"`
	Link        string        `json:"link" desc:"the query's page (settings link, or Prometheus' graph page); may be empty"`
}

func (o *observability) query(ctx context.Context, call *sdk.Call, in QueryInput) (QueryOutput, error) {
	m, err := o.metricsBackend(in.Query)
	if err != nil {
		return QueryOutput{}, err
	}
	at := o.clock()
	ss, err := m.instant(ctx, in.Query, at)
	if err != nil {
		return QueryOutput{}, err
	}
	out := QueryOutput{Query: in.Query, At: at, Backend: m.name(), Link: o.link(m, in.Query, at.Add(-defaultWindow), at), Series: []SeriesValue{}}
	for _, s := range ss {
		if len(s.points) > 0 {
			out.Series = append(out.Series, SeriesValue{Labels: s.labels, Value: s.points[len(s.points)-1].v})
		}
	}
	out.SeriesCount = len(out.Series)
	out.Empty = len(out.Series) == 0
	if !out.Empty {
		out.Value = out.Series[0].Value
	}
	sort.SliceStable(out.Series, func(i, j int) bool { return out.Series[i].Value > out.Series[j].Value })
	max := orDefault(in.MaxSeries, defaultMaxSeries)
	if len(out.Series) > max {
		out.Series, out.Truncated = out.Series[:max], true
	}
	call.Infof("%s: %d series, value %g", m.name(), out.SeriesCount, out.Value)
	return out, nil
}

// RangeInput is the with of observability.range.
type RangeInput struct {
	Query     string       `json:"query" desc:"the metric query: PromQL for prometheus, a Datadog metrics query for datadog"`
	Window    sdk.Duration `json:"window,omitempty" desc:"how far back from now (default 15m, at most 168h)"`
	Step      sdk.Duration `json:"step,omitempty" desc:"the resolution (default window/60, at least 1s; at most 1000 points)"`
	MaxSeries int          `json:"max_series,omitempty" min:"1" max:"50" desc:"how many series the table keeps (default 10)"`
}

// Stats summarize the points of a series.
type Stats struct {
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Avg    float64 `json:"avg"`
	Last   float64 `json:"last"`
	Points int     `json:"points" desc:"how many points were summarized"`
}

// SeriesStats is one series of a range's answer.
type SeriesStats struct {
	Labels map[string]string `json:"labels"`
	Stats
}

// RangeOutput is what observability.range returns.
type RangeOutput struct {
	Stats
	Empty       bool          `json:"empty" desc:"true when the query matched no points"`
	Series      []SeriesStats `json:"series" desc:"per series, highest max first, at most max_series; the top-level stats are the first series' as the backend returned it"`
	SeriesCount int           `json:"series_count"`
	Truncated   bool          `json:"truncated"`
	Query       string        `json:"query"`
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	Step        string        `json:"step"`
	Backend     string        `json:"backend" enum:"prometheus,datadog,sandbox"`
	Link        string        `json:"link"`
}

func (o *observability) rangeStats(ctx context.Context, call *sdk.Call, in RangeInput) (RangeOutput, error) {
	m, err := o.metricsBackend(in.Query)
	if err != nil {
		return RangeOutput{}, err
	}
	window, step, err := windowStep(in.Window, in.Step)
	if err != nil {
		return RangeOutput{}, err
	}
	to := o.clock()
	from := to.Add(-window)
	ss, err := m.rangeQuery(ctx, in.Query, from, to, step)
	if err != nil {
		return RangeOutput{}, err
	}
	out := RangeOutput{Query: in.Query, From: from, To: to, Step: step.String(), Backend: m.name(), Link: o.link(m, in.Query, from, to), Series: []SeriesStats{}}
	for _, s := range ss {
		if len(s.points) > 0 {
			out.Series = append(out.Series, SeriesStats{Labels: s.labels, Stats: stats(s.points)})
		}
	}
	out.SeriesCount = len(out.Series)
	out.Empty = len(out.Series) == 0
	if !out.Empty {
		out.Stats = out.Series[0].Stats
	}
	sort.SliceStable(out.Series, func(i, j int) bool { return out.Series[i].Max > out.Series[j].Max })
	max := orDefault(in.MaxSeries, defaultMaxSeries)
	if len(out.Series) > max {
		out.Series, out.Truncated = out.Series[:max], true
	}
	call.Infof("%s: %d series over %s, step %s", m.name(), out.SeriesCount, window, step)
	return out, nil
}

// Check is one threshold of observability.incident.
type Check struct {
	Name      string  `json:"name,omitempty" desc:"what it measures, such as error_rate or latency_p95 (default check1, check2...)"`
	Query     string  `json:"query" desc:"the metric query: an error ratio, a latency quantile..."`
	Threshold float64 `json:"threshold" desc:"the value beyond which there is an incident"`
	Below     bool    `json:"below,omitempty" desc:"true: an incident is a value below the threshold (a success rate); default above"`
}

// IncidentInput is the with of observability.incident.
type IncidentInput struct {
	Checks []Check      `json:"checks" desc:"the thresholds, at most 10; any one breached is an incident"`
	Window sdk.Duration `json:"window,omitempty" desc:"how far back from now (default 15m, at most 168h)"`
	Over   string       `json:"over,omitempty" enum:"avg,max,last" desc:"how the window's points make one value per series: avg (the default: a sustained problem), max (any spike) or last"`
	Step   sdk.Duration `json:"step,omitempty" desc:"the resolution (default window/60, at least 1s)"`
}

// CheckResult is the answer to one check.
type CheckResult struct {
	Name      string            `json:"name"`
	Query     string            `json:"query"`
	Value     float64           `json:"value" desc:"the worst series' value over the window (highest, or lowest with below)"`
	Threshold float64           `json:"threshold"`
	Breached  bool              `json:"breached"`
	Empty     bool              `json:"empty" desc:"true when the query matched no points: not breached, but nothing was measured"`
	Series    int               `json:"series" desc:"how many series the query returned"`
	Labels    map[string]string `json:"labels" desc:"the worst series' labels"`
}

// IncidentOutput is what observability.incident returns.
type IncidentOutput struct {
	Incident  bool          `json:"incident" desc:"true when any check is breached"`
	Check     string        `json:"check" desc:"the first breached check's name, or the first check's"`
	Value     float64       `json:"value" desc:"that check's value"`
	Threshold float64       `json:"threshold" desc:"that check's threshold"`
	Query     string        `json:"query" desc:"that check's query"`
	Link      string        `json:"link" desc:"that check's page; may be empty"`
	Summary   string        `json:"summary" desc:"one line for people: which checks were breached, with values and thresholds"`
	Checks    []CheckResult `json:"checks"`
	Window    string        `json:"window"`
	Over      string        `json:"over"`
	From      time.Time     `json:"from"`
	To        time.Time     `json:"to"`
	Backend   string        `json:"backend" enum:"prometheus,datadog,sandbox"`
}

func (o *observability) incident(ctx context.Context, call *sdk.Call, in IncidentInput) (IncidentOutput, error) {
	switch {
	case len(in.Checks) == 0:
		return IncidentOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.checks is empty: give at least one {query, threshold}")
	case len(in.Checks) > 10:
		return IncidentOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.checks has %d checks, at most 10 are allowed", len(in.Checks))
	}
	for i, c := range in.Checks {
		if strings.TrimSpace(c.Query) == "" {
			return IncidentOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.checks[%d].query is empty", i)
		}
	}
	m, err := o.metricsBackend(in.Checks[0].Query)
	if err != nil {
		return IncidentOutput{}, err
	}
	window, step, err := windowStep(in.Window, in.Step)
	if err != nil {
		return IncidentOutput{}, err
	}
	over := in.Over
	if over == "" {
		over = "avg"
	}
	to := o.clock()
	from := to.Add(-window)
	out := IncidentOutput{Window: window.String(), Over: over, From: from, To: to, Backend: m.name(), Checks: []CheckResult{}}
	var breached []string
	lead := -1
	for i, c := range in.Checks {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("check%d", i+1)
		}
		ss, err := m.rangeQuery(ctx, c.Query, from, to, step)
		if err != nil {
			return IncidentOutput{}, fmt.Errorf("check %s: %w", name, err)
		}
		r := CheckResult{Name: name, Query: c.Query, Threshold: c.Threshold, Empty: true, Labels: map[string]string{}}
		for _, s := range ss {
			if len(s.points) == 0 {
				continue
			}
			r.Series++
			st := stats(s.points)
			v := map[string]float64{"avg": st.Avg, "max": st.Max, "last": st.Last}[over]
			if c.Below && over == "max" {
				v = st.Min // the worst of a success rate is its lowest
			}
			if r.Empty || (!c.Below && v > r.Value) || (c.Below && v < r.Value) {
				r.Value, r.Labels = v, s.labels
			}
			r.Empty = false
		}
		r.Breached = !r.Empty && ((!c.Below && r.Value > c.Threshold) || (c.Below && r.Value < c.Threshold))
		if r.Breached {
			cmp := ">"
			if c.Below {
				cmp = "<"
			}
			breached = append(breached, fmt.Sprintf("%s %s %s %s", name, fmtValue(r.Value), cmp, fmtValue(c.Threshold)))
			if lead < 0 {
				lead = i
			}
		}
		out.Checks = append(out.Checks, r)
	}
	out.Incident = lead >= 0
	if lead < 0 {
		lead = 0
	}
	l := out.Checks[lead]
	out.Check, out.Value, out.Threshold, out.Query = l.Name, l.Value, l.Threshold, l.Query
	out.Link = o.link(m, l.Query, from, to)
	switch {
	case out.Incident:
		out.Summary = fmt.Sprintf("incident: %s over the last %s (%s)", strings.Join(breached, ", "), shortDuration(window), over)
	default:
		var parts []string
		for _, r := range out.Checks {
			if r.Empty {
				parts = append(parts, r.Name+" no data")
			} else {
				parts = append(parts, fmt.Sprintf("%s %s ≤ %s", r.Name, fmtValue(r.Value), fmtValue(r.Threshold)))
			}
		}
		out.Summary = fmt.Sprintf("no incident: %s over the last %s (%s)", strings.Join(parts, ", "), shortDuration(window), over)
	}
	call.Infof("%s: %s", m.name(), out.Summary)
	return out, nil
}

// metricsBackend returns the configured metrics backend, or not_configured.
func (o *observability) metricsBackend(query string) (metricsBackend, error) {
	if strings.TrimSpace(query) == "" {
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.query is empty: give the metric query")
	}
	if o.metrics == nil {
		return nil, sdk.Error(sdk.CodeNotConfigured, "no metrics backend is configured: set plugins.settings.observability.metrics to prometheus or datadog (or sandbox to try it) in steward.yaml")
	}
	return o.metrics, nil
}

// windowStep checks a window and a step, with their defaults.
func windowStep(w, s sdk.Duration) (time.Duration, time.Duration, error) {
	window := w.Std()
	if window == 0 {
		window = defaultWindow
	}
	if window < time.Second || window > maxWindow {
		return 0, 0, sdk.Error(sdk.CodeInvalidInput, "with.window must be between 1s and 168h, got %s", window)
	}
	step := s.Std()
	if step == 0 {
		step = (window / 60).Truncate(time.Second)
		if step < time.Second {
			step = time.Second
		}
	}
	if step < time.Second || step > window {
		return 0, 0, sdk.Error(sdk.CodeInvalidInput, "with.step must be between 1s and the window (%s), got %s", window, step)
	}
	if window/step > maxPoints {
		return 0, 0, sdk.Error(sdk.CodeInvalidInput, "with.step %s gives %d points over %s, at most %d are allowed: raise the step", step, window/step, window, maxPoints)
	}
	return window, step, nil
}

// stats summarizes points (at least one).
func stats(ps []point) Stats {
	s := Stats{Min: math.Inf(1), Max: math.Inf(-1), Points: len(ps), Last: ps[len(ps)-1].v}
	sum := 0.0
	for _, p := range ps {
		s.Min, s.Max = math.Min(s.Min, p.v), math.Max(s.Max, p.v)
		sum += p.v
	}
	s.Avg = sum / float64(len(ps))
	return s
}

// link is the settings' link for the query, or the backend's own page.
func (o *observability) link(m metricsBackend, query string, from, to time.Time) string {
	if tmpl := o.settings.Link; tmpl != "" {
		return strings.NewReplacer("{query}", url.QueryEscape(query), "{from}", url.QueryEscape(from.Format(time.RFC3339)),
			"{to}", url.QueryEscape(to.Format(time.RFC3339))).Replace(tmpl)
	}
	return m.link(query, from, to)
}

func orDefault(n, d int) int {
	if n <= 0 {
		return d
	}
	return n
}

// fmtValue writes a value for people: 4 significant digits.
func fmtValue(v float64) string { return fmt.Sprintf("%.4g", v) }

// shortDuration writes 15m rather than 15m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// finite drops NaN and infinite values.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
