package mcpserver

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/schema"
)

// Result is the structured content of a tool call: the run's id, status
// and outputs, and what it waits for.
type Result struct {
	RunID   string            `json:"run_id"`
	Runbook string            `json:"runbook"`
	Status  engine.Status     `json:"status"`
	DryRun  bool              `json:"dry_run"`
	Outputs map[string]any    `json:"outputs"`
	Error   *engine.ErrorInfo `json:"error,omitempty"`
	// Waiting lists the steps that wait for a person: an assistant cannot
	// decide them.
	Waiting []Waiting `json:"waiting,omitempty"`
	// Record is the URI of the run's record (a resource).
	Record string `json:"record"`
}

// Waiting is a step that waits for a person's decision.
type Waiting struct {
	Step string `json:"step"`
	// Approve is the command that decides it; URL the run's page, when
	// the server has a public address.
	Approve   string   `json:"approve"`
	URL       string   `json:"url,omitempty"`
	Approvers []string `json:"approvers,omitempty"`
}

// RunURI is the URI of a run's record.
func RunURI(id string) string { return runsURI + "/" + id }

// result renders a run that ended or waits: structured content and a
// short text. A failed run is a tool error, with its outputs too.
func (s *Server) result(res *engine.Result) *mcp.CallToolResult {
	out := Result{RunID: res.ID, Runbook: res.Runbook, Status: res.Status, DryRun: res.DryRun, Outputs: res.Outputs,
		Error: res.Error, Record: RunURI(res.ID)}
	if out.Outputs == nil {
		out.Outputs = map[string]any{}
	}
	var text strings.Builder
	dry := ""
	if res.DryRun {
		dry = " (dry run)"
	}
	switch res.Status {
	case engine.StatusWaiting:
		fmt.Fprintf(&text, "Run %s of %s%s is waiting for a person to approve. You cannot approve it: ask a person who may decide.", res.ID, res.Runbook, dry)
		for _, st := range res.Steps {
			if st.Status != engine.StatusWaiting {
				continue
			}
			w := Waiting{Step: st.ID, Approve: "steward approve " + res.ID + " " + st.ID, Approvers: st.Approvers}
			if s.cfg.URL != "" {
				w.URL = s.cfg.URL + "/runs/" + res.ID
			}
			out.Waiting = append(out.Waiting, w)
			fmt.Fprintf(&text, "\n- step %s: %s", st.ID, w.Approve)
			if w.URL != "" {
				fmt.Fprintf(&text, " (or %s)", w.URL)
			}
			if len(st.Approvers) > 0 {
				fmt.Fprintf(&text, "; approvers: %s", strings.Join(st.Approvers, ", "))
			}
		}
	case engine.StatusSucceeded:
		fmt.Fprintf(&text, "Run %s of %s%s succeeded.", res.ID, res.Runbook, dry)
	default:
		fmt.Fprintf(&text, "Run %s of %s%s %s.", res.ID, res.Runbook, dry, res.Status)
		if res.Error != nil {
			fmt.Fprintf(&text, " %s", res.Error.Message)
		}
	}
	if len(out.Outputs) > 0 {
		keys := make([]string, 0, len(out.Outputs))
		for k := range out.Outputs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&text, "\nOutputs: %s.", strings.Join(keys, ", "))
	}
	fmt.Fprintf(&text, "\nRecord: %s", out.Record)
	return &mcp.CallToolResult{
		IsError:           res.Status == engine.StatusFailed || res.Status == engine.StatusCancelled,
		StructuredContent: out,
		Content:           []mcp.Content{&mcp.TextContent{Text: text.String()}},
	}
}

// progress sends a progress notification as each step of the run ends:
// progress counts the steps that ended, of total.
type progress struct {
	ctx   context.Context
	ss    *mcp.ServerSession
	token any
	total float64
	done  float64
}

func newProgress(ctx context.Context, ss *mcp.ServerSession, token any, rb *schema.Runbook) engine.Sink {
	return &progress{ctx: ctx, ss: ss, token: token, total: float64(len(rb.Steps))}
}

// Event implements engine.Sink. A notification that cannot be sent (the
// client went away) does not stop the run: it is recorded as any other.
func (p *progress) Event(e *engine.Event) {
	var msg string
	switch e.Type {
	case engine.RunStarted:
		msg = "run " + e.RunID + " started"
	case engine.StepFinished, engine.StepSkipped, engine.StepWaiting:
		if e.Phase != engine.PhaseMain {
			return
		}
		// Each notification's progress is higher than the last's: a
		// step that waits counts as one this call is done with.
		p.done++
		switch e.Type {
		case engine.StepWaiting:
			msg = "step " + e.Step + " waits for a person to approve"
		case engine.StepSkipped:
			msg = "step " + e.Step + " skipped"
		default:
			msg = "step " + e.Step + " " + string(e.Status)
		}
	default:
		return
	}
	_ = p.ss.NotifyProgress(p.ctx, &mcp.ProgressNotificationParams{ProgressToken: p.token, Progress: p.done, Total: p.total, Message: msg})
}
