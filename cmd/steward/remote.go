package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/api/client"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
)

// serverHelp ends the help of the commands that work with --server.
const serverHelp = `With --server URL (env STEWARD_SERVER) it works with that steward serve
instead of the journal under --home, as the subject of the bearer token in
env STEWARD_TOKEN (or the file --token-file names): the same output and
exit status.`

// remote returns the client of --server, or nil without one.
func (g *globalFlags) remote() (*client.Client, error) {
	if g.server == "" {
		return nil, nil
	}
	token := os.Getenv("STEWARD_TOKEN")
	if g.tokenFile != "" {
		b, err := readCapped(g.tokenFile, 4<<10)
		if err != nil {
			return nil, usageError("--token-file: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, usageError("--server %s needs a bearer token in env STEWARD_TOKEN (or --token-file FILE); create one on the server with steward tokens create NAME --role ROLE", g.server)
	}
	c, err := client.New(client.Config{URL: g.server, Token: token})
	if err != nil {
		return nil, usageError("--server %s: %s", g.server, strings.TrimPrefix(err.Error(), client.ErrConfig.Error()+": "))
	}
	return c, nil
}

// refuseAs refuses --as with --server: the server records who the token
// authenticates.
func refuseAs(cmd *cobra.Command) error {
	if cmd.Flags().Changed("as") {
		return usageError("--as is not allowed with --server: the server records the token's subject")
	}
	return nil
}

// remoteError turns an error of the server's API into the CLI's exit
// status and message, as serviceError does for the local run service;
// id is the run concerned. The problems of an invalid runbook are printed
// on errw, as printDiagnostics prints them.
func remoteError(errw io.Writer, id string, err error) error {
	var (
		unreachable *client.UnreachableError
		pe          *client.ProblemError
		ee          *exitError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return err
	case errors.As(err, &unreachable):
		return &exitError{code: exitFailed, err: err}
	case errors.Is(err, context.Canceled):
		return &exitError{code: exitFailed, err: err}
	case !errors.As(err, &pe):
		return &exitError{code: exitFailed, err: err}
	}
	switch pe.Status {
	case http.StatusUnauthorized:
		return usageError("the server refused the token: %s; create one with steward tokens create NAME --role ROLE on the server", pe.Error())
	case http.StatusForbidden:
		return &exitError{code: exitFailed, err: pe}
	case http.StatusBadRequest:
		return &exitError{code: exitInvalid, err: pe}
	}
	switch pe.Slug() {
	case "run-not-found":
		return &exitError{code: exitInvalid, err: fmt.Errorf("no run %s in the journal: steward runs lists them", id)}
	case "runbook-not-found", "invalid-request", "invalid-inputs":
		return &exitError{code: exitInvalid, err: pe}
	case "invalid-runbook":
		fmt.Fprint(errw, printable.String(diagnosticsOf(pe).Strict().Render()))
		return &exitError{code: exitInvalid, err: pe}
	case "missing-secrets":
		return usageError("the journal never keeps secret inputs: give %s again with --input NAME=VALUE", strings.Join(secretNames(pe), ", "))
	case "sub-run":
		return usageError("%v", pe)
	case "not-waiting":
		msg := strings.TrimPrefix(pe.Detail, runs.ErrNotWaiting.Error()+": ")
		return &exitError{code: exitInvalid, err: fmt.Errorf("nothing to decide: %s", msg)}
	}
	return &exitError{code: exitFailed, err: pe}
}

// diagnosticsOf are the problems of an invalid runbook a problem lists.
func diagnosticsOf(pe *client.ProblemError) schema.Diagnostics {
	var ds schema.Diagnostics
	for _, e := range pe.Errors {
		ds = append(ds, schema.Diagnostic{File: e.File, Line: e.Line, Column: e.Column, Path: e.Path, Message: e.Message, Hint: e.Hint})
	}
	return ds
}

// inputErrorsOf are the input problems a problem lists.
func inputErrorsOf(pe *client.ProblemError) []*engine.InputError {
	var errs []*engine.InputError
	for _, e := range pe.Errors {
		name := strings.TrimPrefix(strings.TrimPrefix(e.Path, "inputs"), ".")
		errs = append(errs, &engine.InputError{Input: name, Message: e.Message, Hint: e.Hint})
	}
	return errs
}

// secretNames are the secret inputs a missing-secrets problem names.
func secretNames(pe *client.ProblemError) []string {
	var names []string
	for _, e := range inputErrorsOf(pe) {
		names = append(names, e.Input)
	}
	return names
}

// isProblem says whether err is the API's problem slug.
func isProblem(err error, slug string) bool {
	var pe *client.ProblemError
	return errors.As(err, &pe) && pe.Slug() == slug
}

// remoteRunbook is as much of the runbook name as the server describes
// (GET /runbooks/{name}): its inputs' types, to read --input as steward
// run does, and its steps' ids, to line up progress. A runbook the
// server does not describe (a viewer of the run only) gives only
// the steps of known, the steps a run recorded.
func remoteRunbook(ctx context.Context, c *client.Client, name string, known []*engine.StepResult) (*schema.Runbook, error) {
	rb := &schema.Runbook{Name: name}
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			rb.Steps = append(rb.Steps, &schema.Step{ID: id})
		}
	}
	desc, err := c.Runbook(ctx, name)
	if err == nil {
		for _, in := range desc.Inputs {
			rb.Inputs = append(rb.Inputs, &schema.Input{Name: in.Name, Type: schema.InputType(in.Type), Secret: in.Secret, Required: in.Required})
		}
		for _, id := range desc.Steps {
			add(id)
		}
	}
	for _, s := range known {
		add(s.ID)
	}
	return rb, err
}

// getRemote returns the document of run ref from the server: ref is a
// run's id, or a unique start of it as locally (runIDHelp), resolved
// among the runs GET /runs?id_prefix= lists as runs.Resolve resolves it,
// with the same errors.
func getRemote(cmd *cobra.Command, c *client.Client, ref string) (*runs.Document, error) {
	errw := cmd.ErrOrStderr()
	doc, err := c.Get(cmd.Context(), ref)
	if !isProblem(err, "run-not-found") {
		return doc, remoteError(errw, ref, err)
	}
	var found []journal.Run
	err = c.List(cmd.Context(), client.ListRequest{IDPrefix: ref, Limit: runs.MaxMatches + 1}, func(s runs.Summary) error {
		found = append(found, s.Run)
		return nil
	})
	if err != nil {
		return nil, remoteError(errw, ref, err)
	}
	id, err := runs.ResolveAmong(ref, found)
	if err != nil {
		return nil, runIDError(ref, err)
	}
	doc, err = c.Get(cmd.Context(), id)
	return doc, remoteError(errw, id, err)
}

// lastSeq is the seq of a run's last record.
func lastSeq(d *runs.Document) int64 {
	var last int64
	for _, e := range d.Timeline {
		last = max(last, e.Seq)
	}
	return last
}

// follow shows the progress of a run executing in the server from its
// record after seq after, until it ends or waits, and returns the run as
// it then is. A first Ctrl-C (ctx done) asks the server to cancel the
// run and goes on showing it stop.
func follow(ctx context.Context, c *client.Client, errw io.Writer, id string, after int64, progress engine.Sink) (*engine.Result, error) {
	followed, stop := context.WithCancel(context.Background())
	defer stop()
	cancelled := context.AfterFunc(ctx, func() {
		if _, err := c.Cancel(followed, id, api.CancelRequest{Comment: "Ctrl-C at steward --server"}); err != nil && followed.Err() == nil {
			fmt.Fprintf(errw, "steward: cancelling run %s: %s\n", printable.Line(id), printable.String(userMessage(err.Error())))
		}
	})
	defer cancelled()
	_, err := c.Events(followed, id, after, func(e api.Event) error {
		if progress == nil {
			return nil
		}
		events, err := journal.Record{Seq: e.Seq, RunID: e.RunID, Type: e.Type, Time: parseTime(e.Time), Data: e.Data}.Events()
		if err != nil {
			return fmt.Errorf("record %d of run %s: %w", e.Seq, id, err)
		}
		for _, ev := range events {
			progress.Event(ev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d, err := c.Get(followed, id)
	if err != nil {
		return nil, err
	}
	return d.Result(), nil
}

// parseTime reads an event's time (RFC 3339).
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// goOnRemote is goOn with --server: the server records the decision (when
// decision is set: steward approve) or resumes the run (steward resume),
// and goes on with it; this shows its progress from the record after the
// last one before, and its end.
func goOnRemote(cmd *cobra.Command, g *globalFlags, c *client.Client, f *goOnFlags, id string, decision *runs.DecideRequest) error {
	if err := refuseAs(cmd); err != nil {
		return err
	}
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	secrets, err := parseSecretInputs(f.inputs)
	if err != nil {
		return err
	}
	errw := cmd.ErrOrStderr()
	doc, err := getRemote(cmd, c, id)
	if err != nil {
		return err
	}
	id = doc.Run.ID
	after := lastSeq(doc)
	nothing := "nothing to resume"
	if decision != nil {
		nothing = "nothing to decide"
		var d *api.Decision
		d, err = c.Decide(cmd.Context(), id, decision.Approved, api.DecideRequest{Step: decision.Step, Comment: decision.Comment, Inputs: secrets})
		if err == nil {
			reportDecision(errw, id, d.Step, d.By, d.Approved, nil)
		} else if isProblem(err, "expired") {
			// Nothing recorded: the run goes on and the step fails.
			fmt.Fprintln(errw, printable.String(err.Error()))
			err = nil
		}
	} else {
		_, err = c.Resume(cmd.Context(), id, api.ResumeRequest{Inputs: secrets})
	}
	if isProblem(err, "ended") {
		if doc, err = c.Get(cmd.Context(), id); err != nil {
			return remoteError(errw, id, err)
		}
		fmt.Fprintf(errw, "run %s already ended: %s; %s\n", printable.Line(id), printable.Line(doc.Run.Status), nothing)
		return exitForStatus(doc.Run.Status)
	}
	if err != nil {
		return remoteError(errw, id, err)
	}
	ctx, stop := interruptible(errw)
	defer stop()
	rb, _ := remoteRunbook(ctx, c, doc.Run.Runbook, doc.Steps)
	out := newRunOutput(cmd, cfg, f.output, f.progress, rb)
	out.runID = id
	res, err := follow(ctx, c, errw, id, after, out.progress)
	return out.finish(res, remoteError(errw, id, err))
}

// localOnly refuses --server for a command that works only on the
// journal under --home.
func localOnly(g *globalFlags, command string) error {
	if g.server != "" {
		return usageError("steward %s works on the journal under --home, not with --server: run it on the server's host", command)
	}
	return nil
}
