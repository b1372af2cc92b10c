package client

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/runs"
)

// Runbook returns a runbook the server runs by name: its inputs, among
// others (GET /runbooks/{name}).
func (c *Client) Runbook(ctx context.Context, name string) (*api.Runbook, error) {
	var rb api.Runbook
	if err := c.call(ctx, "GET", "/runbooks/"+url.PathEscape(name), nil, nil, &rb); err != nil {
		return nil, err
	}
	return &rb, nil
}

// Start starts a run in the server (POST /runs): it answers once the
// run's run.started record is written.
func (c *Client) Start(ctx context.Context, req api.StartRequest) (*api.Started, error) {
	var st api.Started
	if err := c.call(ctx, "POST", "/runs", nil, req, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// ListRequest selects runs as steward runs does.
type ListRequest struct {
	Runbook, Status, Actor string
	// IDPrefix selects the runs whose id it starts (see
	// journal.Filter.IDPrefix).
	IDPrefix string
	Since    time.Time
	// Limit is how many runs at most; 0: all.
	Limit int
}

// List calls fn with each run req selects, newest first, a page at a
// time (GET /runs with its cursor).
func (c *Client) List(ctx context.Context, req ListRequest, fn func(runs.Summary) error) error {
	q := url.Values{}
	for k, v := range map[string]string{"runbook": req.Runbook, "status": req.Status, "actor": req.Actor, "id_prefix": req.IDPrefix} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !req.Since.IsZero() {
		q.Set("since", req.Since.UTC().Format(time.RFC3339))
	}
	n := 0
	for {
		page := api.MaxLimit
		if req.Limit > 0 {
			page = min(page, req.Limit-n)
		}
		q.Set("limit", strconv.Itoa(page))
		var list api.RunList
		if err := c.call(ctx, "GET", "/runs", q, nil, &list); err != nil {
			return err
		}
		for _, s := range list.Runs {
			if err := fn(s); err != nil {
				return err
			}
			n++
		}
		if list.NextCursor == "" || (req.Limit > 0 && n >= req.Limit) {
			return nil
		}
		q.Set("cursor", list.NextCursor)
	}
}

// Get returns everything recorded of a run (GET /runs/{id}), as steward
// show -o json prints it.
func (c *Client) Get(ctx context.Context, id string) (*runs.Document, error) {
	var d runs.Document
	if err := c.call(ctx, "GET", "/runs/"+url.PathEscape(id), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Cancel cancels a run and waits until it is (POST /runs/{id}/cancel).
func (c *Client) Cancel(ctx context.Context, id string, req api.CancelRequest) (*api.Cancelled, error) {
	var out api.Cancelled
	if err := c.call(ctx, "POST", "/runs/"+url.PathEscape(id)+"/cancel", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Resume continues an interrupted or decided run in the server (POST
// /runs/{id}/resume); it answers once its run.resumed record is written.
func (c *Client) Resume(ctx context.Context, id string, req api.ResumeRequest) (*api.Started, error) {
	var st api.Started
	if err := c.call(ctx, "POST", "/runs/"+url.PathEscape(id)+"/resume", nil, req, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Decide approves (or denies) what a run waits for (POST
// /runs/{id}/approve or /deny); the run goes on in the server.
func (c *Client) Decide(ctx context.Context, id string, approved bool, req api.DecideRequest) (*api.Decision, error) {
	verb := "/deny"
	if approved {
		verb = "/approve"
	}
	var d api.Decision
	if err := c.call(ctx, "POST", "/runs/"+url.PathEscape(id)+verb, nil, req, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
