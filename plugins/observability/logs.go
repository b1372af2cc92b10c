package main

import (
	"context"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// LogsInput is the with of observability.logs_count.
type LogsInput struct {
	Query  string       `json:"query" desc:"the logs query: Lucene query string for elasticsearch, log search syntax for datadog"`
	Window sdk.Duration `json:"window,omitempty" desc:"how far back from now (default 15m, at most 168h)"`
}

// LogsCountOutput is what observability.logs_count returns.
type LogsCountOutput struct {
	Count   int64     `json:"count" desc:"the log lines matched"`
	Query   string    `json:"query"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Backend string    `json:"backend" enum:"elasticsearch,datadog,sandbox"`
}

func (o *observability) logsCount(ctx context.Context, call *sdk.Call, in LogsInput) (LogsCountOutput, error) {
	l, q, err := o.logQuery(in.Query, in.Window)
	if err != nil {
		return LogsCountOutput{}, err
	}
	n, err := l.count(ctx, q)
	if err != nil {
		return LogsCountOutput{}, err
	}
	call.Infof("%s: %d lines match", l.name(), n)
	return LogsCountOutput{Count: n, Query: q.query, From: q.from, To: q.to, Backend: l.name()}, nil
}

// TopInput is the with of observability.top_messages.
type TopInput struct {
	Query  string       `json:"query" desc:"the logs query: Lucene query string for elasticsearch, log search syntax for datadog"`
	Window sdk.Duration `json:"window,omitempty" desc:"how far back from now (default 15m, at most 168h)"`
	Limit  int          `json:"limit,omitempty" min:"1" max:"20" desc:"how many messages (default 5)"`
}

// MessageCount is one message and how many lines carried it.
type MessageCount struct {
	Message string `json:"message" desc:"the message, cut to 300 characters"`
	Count   int64  `json:"count"`
}

// TopOutput is what observability.top_messages returns.
type TopOutput struct {
	Messages []MessageCount `json:"messages" desc:"the most frequent messages, most frequent first"`
	Total    int64          `json:"total" desc:"the log lines matched"`
	Other    int64          `json:"other" desc:"lines with a message not listed"`
	Sample   int            `json:"sample" desc:"datadog: how many of the newest lines were grouped (0: the counts are the backend's, over every line)"`
	Partial  bool           `json:"partial" desc:"true when the counts come from a sample of the lines, not all of them"`
	Query    string         `json:"query"`
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Backend  string         `json:"backend" enum:"elasticsearch,datadog,sandbox"`
}

func (o *observability) topMessages(ctx context.Context, call *sdk.Call, in TopInput) (TopOutput, error) {
	l, q, err := o.logQuery(in.Query, in.Window)
	if err != nil {
		return TopOutput{}, err
	}
	r, err := l.top(ctx, q, orDefault(in.Limit, 5))
	if err != nil {
		return TopOutput{}, err
	}
	out := TopOutput{Messages: r.messages, Total: r.total, Other: r.other, Sample: r.sample, Partial: r.partial,
		Query: q.query, From: q.from, To: q.to, Backend: l.name()}
	if out.Messages == nil {
		out.Messages = []MessageCount{}
	}
	for i := range out.Messages {
		out.Messages[i].Message = cut(strings.TrimSpace(out.Messages[i].Message), maxMessageChars)
	}
	call.Infof("%s: %d lines, %d messages listed", l.name(), out.Total, len(out.Messages))
	return out, nil
}

// logQuery returns the configured logs backend and the query over the
// window up to now.
func (o *observability) logQuery(query string, w sdk.Duration) (logsBackend, logQuery, error) {
	if strings.TrimSpace(query) == "" {
		return nil, logQuery{}, sdk.Error(sdk.CodeInvalidInput, "with.query is empty: give the logs query (* for every line)")
	}
	if o.logs == nil {
		return nil, logQuery{}, sdk.Error(sdk.CodeNotConfigured, "no logs backend is configured: set plugins.settings.observability.logs to elasticsearch or datadog (or sandbox to try it) in steward.yaml")
	}
	window, _, err := windowStep(w, 0)
	if err != nil {
		return nil, logQuery{}, err
	}
	to := o.clock()
	return o.logs, logQuery{query: query, from: to.Add(-window), to: to}, nil
}
