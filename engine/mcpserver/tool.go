package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
)

// tool is one exposed runbook.
type tool struct {
	s    *Server
	name string
	def  *mcp.Tool
}

// call runs the runbook. Every problem the assistant can fix, or must
// be told of, is a tool error (isError): no run was started for any
// problem found before Start, and nothing of it is in the journal.
func (t *tool) call(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	s := t.s
	who, err := s.callerOf(req.Session, req.Extra)
	if err != nil {
		return nil, err
	}
	log := s.cfg.Log.With("tool", t.name, "actor", who.actor, "client", who.client)
	if err := who.may(auth.Operator, t.name); err != nil {
		log.Warn("tool call refused", "err", err)
		return toolError("%v; nothing ran", err), nil
	}
	doc, err := s.cfg.Resolve(t.name)
	if err != nil {
		log.Error("tool call: runbook not found", "err", err)
		return toolError("%s cannot run here now: %v; nothing ran", t.name, err), nil
	}
	plan := s.cfg.Runs.Prepare(doc, s.cfg.Redact())
	if err := plan.Err(); err != nil {
		log.Error("tool call: runbook invalid", "err", err)
		return toolError("%v", err), nil
	}
	inputs, dryRun, problems := t.arguments(req.Params.Arguments, plan.Runbook)
	if len(problems) > 0 {
		return inputsError(t.name, problems), nil
	}
	sreq := runs.StartRequest{Inputs: inputs, Actor: who.actor, DryRun: dryRun,
		Trigger: &journal.Trigger{Kind: TriggerKind, Name: who.client}}
	if token := req.Params.GetProgressToken(); token != nil {
		sreq.Progress = newProgress(ctx, req.Session, token, plan.Runbook)
	}
	res, err := s.cfg.Runs.Start(ctx, plan, sreq)
	var bad *engine.InputsError
	switch {
	case errors.As(err, &bad):
		return inputsError(t.name, bad.Errors), nil
	case err != nil:
		log.Error("tool call: the run could not execute", "err", err)
		return toolError("%s: %v", t.name, err), nil
	}
	log.Info("tool call ran", "run", res.ID, "status", string(res.Status), "dry_run", dryRun)
	return s.result(res), nil
}

// arguments turns the call's arguments into the run's inputs: the
// assistant's, minus dry_run, plus the secret inputs from the server's
// secret source. A secret given by the assistant is refused, as is
// anything that is not JSON object; the rest (unknown inputs, types,
// patterns, required) is checked by the run service, as for the CLI.
func (t *tool) arguments(raw json.RawMessage, rb *schema.Runbook) (map[string]any, bool, []*engine.InputError) {
	args := map[string]any{}
	if len(bytes.TrimSpace(raw)) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &args); err != nil || args == nil {
			return nil, false, []*engine.InputError{{Message: "the arguments must be a JSON object of the runbook's inputs"}}
		}
	}
	var problems []*engine.InputError
	dryRun := false
	if v, ok := args[dryRunArg]; ok {
		delete(args, dryRunArg)
		switch b := v.(type) {
		case bool:
			dryRun = b
		case nil:
		default:
			problems = append(problems, &engine.InputError{Input: dryRunArg, Message: "must be true or false"})
		}
	}
	for _, in := range rb.Inputs {
		if !in.Secret {
			continue
		}
		if _, given := args[in.Name]; given {
			// Never echo the value: it may be the secret.
			problems = append(problems, &engine.InputError{Input: in.Name, Message: "is a secret input: an assistant never passes it",
				Hint: "the server reads it from " + t.s.cfg.SecretHint(in.Name)})
			delete(args, in.Name)
			continue
		}
		if v, ok := t.s.cfg.Secret(in.Name); ok {
			args[in.Name] = v
		} else if in.Required {
			problems = append(problems, &engine.InputError{Input: in.Name, Message: "is a secret input the server does not have",
				Hint: "set " + t.s.cfg.SecretHint(in.Name) + " where the Steward server runs"})
		}
	}
	if len(problems) > 0 {
		// Report the rest too, once per input, as the CLI does.
		seen := map[string]bool{}
		for _, p := range problems {
			seen[p.Input] = true
		}
		_, more := engine.CheckInputs(rb, args)
		for _, e := range more {
			if !seen[e.Input] {
				problems = append(problems, e)
			}
		}
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Input < problems[j].Input })
	}
	return args, dryRun, problems
}

// inputsError is the tool error of inputs that do not fit.
func inputsError(name string, errs []*engine.InputError) *mcp.CallToolResult {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d invalid input(s); nothing ran:", name, len(errs))
	for _, e := range errs {
		b.WriteString("\n- " + e.Error())
		if e.Hint != "" {
			b.WriteString(" (" + e.Hint + ")")
		}
	}
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: b.String()}}}
}

// toolError is a tool error with a message.
func toolError(format string, args ...any) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(format, args...)}}}
}
