package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/runs"
)

const (
	runsURI = "steward://runs"
	// RecentRuns is how many runs steward://runs lists, newest first.
	RecentRuns = 50
)

// addResources adds a run's record (a template) and the caller's runs.
func (s *Server) addResources() {
	s.mcp.AddResource(&mcp.Resource{URI: runsURI, Name: "my-runs", Title: "Runs you started",
		Description: fmt.Sprintf("The %d most recent runs started under your identity, newest first: id, runbook, status, times.", RecentRuns),
		MIMEType:    "application/json"}, s.readRuns)
	s.mcp.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: runsURI + "/{id}", Name: "run", Title: "A run's record",
		Description: "Everything Steward's journal recorded of one run, as steward show -o json prints it: origin, actor, inputs and outputs " +
			"(secrets are ***), steps, approvals, what it waits for, and its timeline.",
		MIMEType: "application/json"}, s.readRun)
}

// readRun is the record of one run: runs.Document, as steward show -o
// json. Over HTTP it needs the viewer role on the run's runbook, unless
// the caller started the run.
func (s *Server) readRun(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	who, err := s.callerOf(req.Session, req.Extra)
	if err != nil {
		return nil, err
	}
	uri := req.Params.URI
	id, ok := strings.CutPrefix(uri, runsURI+"/")
	if !ok || id == "" || strings.ContainsAny(id, "/?#") {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	run, err := s.cfg.Runs.Get(ctx, id)
	if errors.Is(err, runs.ErrNotFound) {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	if err != nil {
		return nil, err
	}
	if run.State.Run.Actor != who.actor {
		if err := who.may(auth.Viewer, run.State.Run.Runbook); err != nil {
			// As if it did not exist: the id says nothing to who may not
			// read it.
			s.cfg.Log.Warn("run record refused", "run", id, "actor", who.actor, "err", err)
			return nil, mcp.ResourceNotFoundError(uri)
		}
	}
	return jsonResource(uri, runs.NewDocument(run.State))
}

// runList is the document of steward://runs.
type runList struct {
	Actor string         `json:"actor"`
	Runs  []runs.Summary `json:"runs"`
}

// readRuns lists the runs the caller started.
func (s *Server) readRuns(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	who, err := s.callerOf(req.Session, req.Extra)
	if err != nil {
		return nil, err
	}
	out := runList{Actor: who.actor, Runs: []runs.Summary{}}
	err = s.cfg.Runs.List(ctx, runs.Filter{Actor: who.actor, Limit: RecentRuns}, func(r runs.Summary) error {
		out.Runs = append(out.Runs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jsonResource(req.Params.URI, out)
}

func jsonResource(uri string, v any) (*mcp.ReadResourceResult, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
}
