package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/postgres"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/progress"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/plugins"
	"github.com/stewardhq/steward/schema"
)

// openStore opens the journal: the PostgreSQL database that
// STEWARD_DATABASE_URL names, else the one steward.yaml's store names
// (the variable wins: a replica, or a URL with a password, can be pointed
// elsewhere without editing the file), else the embedded SQLite store
// under --home.
func openStore(cmd *cobra.Command, g *globalFlags) (journal.Store, error) {
	url := os.Getenv("STEWARD_DATABASE_URL")
	if url == "" {
		cfg, err := g.loadConfig(cmd)
		if err != nil {
			return nil, err
		}
		url = cfg.Store
	}
	if url == "" {
		s, err := sqlite.Open(g.home)
		if err != nil {
			return nil, &exitError{code: exitFailed, err: err}
		}
		return s, nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return s, nil
}

// release ends a command's use of the store, as the process exits next:
// the SQLite store is detached (see sqlite.Store.Detach), another closed.
func release(s journal.Store) {
	if d, ok := s.(interface{ Detach() }); ok {
		d.Detach()
		return
	}
	s.Close()
}

// service is the run service of one command: the journal under --home,
// the built-in actions and the plugins of steward.yaml, and this process
// as the executor. close closes the plugins and the store.
type service struct {
	*runs.Service
	cfg     *config.Config
	store   journal.Store
	plugins *plugins.Host
	redact  *redact.Set // the command's secrets: plugin settings' and the run's
}

// close ends the command's use of the plugins and the store; the process
// exits next (see release).
func (s *service) close() {
	if s.plugins != nil {
		s.plugins.Close()
	}
	release(s.store)
}

// newService wires the run service of a command.
func newService(cmd *cobra.Command, g *globalFlags, cfg *config.Config) (*service, error) {
	return newServiceWith(cmd, g, cfg, serviceOptions{})
}

// serviceOptions adapt the run service of a long-lived process (steward
// serve, see serve.go); zero for a command.
type serviceOptions struct {
	// plugins adjusts the plugin host's options.
	plugins func(*plugins.Options)
	// store wraps the journal the service writes (metrics).
	store func(journal.Store) journal.Store
	// hold, when closed, stops executions gracefully (runs.Config.Hold).
	hold <-chan struct{}
}

// newServiceWith wires a run service with o.
func newServiceWith(cmd *cobra.Command, g *globalFlags, cfg *config.Config, o serviceOptions) (*service, error) {
	set := &redact.Set{}
	var adjust []func(*plugins.Options)
	if o.plugins != nil {
		adjust = append(adjust, o.plugins)
	}
	host, err := openPlugins(cmd, g, cfg, nil, set, adjust...)
	if err != nil {
		return nil, err
	}
	store, err := openStore(cmd, g)
	if err != nil {
		host.Close()
		return nil, err
	}
	var journalStore journal.Store = store
	if o.store != nil {
		journalStore = o.store(store)
	}
	clock := clockwork.NewRealClock()
	hostname, _ := os.Hostname()
	svc := runs.New(runs.Config{
		Store: journalStore,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := builtins(clock, sub)
			reg.AddSource(host)
			return reg
		},
		Resolve:    subRunResolver(g, cfg), // sources.go: pinned Git sources, then folders
		Clock:      clock,
		Secret:     envSecret,
		Policy:     policy(cfg),
		Host:       hostname,
		PID:        os.Getpid(),
		MaxSubRuns: cfg.Runs.MaxSubRuns,
		Hold:       o.hold,

		// sources.go: a pinned run's data files when it goes on (approve, resume)
		PinnedFiles: pinnedFiles(g, cfg),
	})
	return &service{Service: svc, cfg: cfg, store: store, plugins: host, redact: set}, nil
}

// openRuns opens the run service for commands that only read runs (runs,
// show): the journal, no actions. close closes the store.
func openRuns(cmd *cobra.Command, g *globalFlags) (*runs.Service, func(), error) {
	store, err := openStore(cmd, g)
	if err != nil {
		return nil, nil, err
	}
	hostname, _ := os.Hostname()
	svc := runs.New(runs.Config{Store: store, Host: hostname, PID: os.Getpid()})
	return svc, func() { release(store) }, nil
}

// short is the first 12 characters of a hash.
func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// continueRequest is the request to go on with run id as by, with the
// secret inputs given again as NAME=VALUE.
func (s *service) continueRequest(id, by string, secretInputs []string) (runs.ContinueRequest, error) {
	secrets, err := parseSecretInputs(secretInputs)
	if err != nil {
		return runs.ContinueRequest{}, err
	}
	return runs.ContinueRequest{RunID: id, By: by, Secrets: secrets, Redact: s.redact}, nil
}

// parseSecretInputs reads the secret inputs given again as NAME=VALUE
// (also for --server: remote.go).
func parseSecretInputs(secretInputs []string) (map[string]string, error) {
	secrets := map[string]string{}
	for _, kv := range secretInputs {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, usageError("--input %q: write NAME=VALUE", kv)
		}
		secrets[name] = val
	}
	return secrets, nil
}

// runOutput renders a run as it goes and its end: live or plain progress
// with a summary in text, one JSON document with -o json.
type runOutput struct {
	runID    string // of a run that goes on, for messages
	cmd      *cobra.Command
	cfg      *config.Config
	output   string
	style    string
	printer  *progress.Printer
	runbook  *schema.Runbook
	progress engine.Sink
}

func newRunOutput(cmd *cobra.Command, cfg *config.Config, output, style string, rb *schema.Runbook) *runOutput {
	o := &runOutput{cmd: cmd, cfg: cfg, output: output, style: style, runbook: rb}
	if output == "text" {
		o.printer = newPrinter(cmd.OutOrStdout(), style, rb)
		o.progress = o.printer
	}
	return o
}

// finish prints the run's end, and returns the exit status of SPEC
// section 2.
func (o *runOutput) finish(res *engine.Result, err error) error {
	if o.printer != nil {
		o.printer.Close()
	}
	if err != nil {
		return o.runError(err)
	}
	if o.output == "json" {
		if err := writeJSON(o.cmd.OutOrStdout(), res); err != nil {
			return err
		}
	} else {
		o.printer.Summary(res)
	}
	switch res.Status {
	case engine.StatusSucceeded:
		return nil
	case engine.StatusWaiting:
		o.printWaiting(res)
		return &exitError{code: exitWaiting}
	}
	return &exitError{code: exitFailed}
}

// runError is the exit status of a run that could not execute.
func (o *runOutput) runError(err error) error {
	var rec *runs.RecordingError
	var busy *journal.BusyError
	var inputs *engine.InputsError
	switch {
	case errors.As(err, &rec):
		fmt.Fprintf(o.cmd.ErrOrStderr(), "steward: %s: the run was stopped\n", printable.String(userMessage(rec.Err.Error())))
		return &exitError{code: exitFailed}
	case errors.As(err, &busy):
		l := busy.Lease
		return &exitError{code: exitFailed, err: fmt.Errorf("run %s is being run by another process (pid %d on %s); wait for it, or steward cancel %s", l.RunID, l.PID, l.Host, l.RunID)}
	case errors.As(err, &inputs):
		return &exitError{code: exitInvalid, err: err}
	}
	return serviceError(o.runID, err)
}

// printWaiting tells, on stderr, the exact commands that decide what the
// run waits for.
func (o *runOutput) printWaiting(res *engine.Result) {
	w := o.cmd.ErrOrStderr()
	for _, s := range res.Steps {
		if s.Status != engine.StatusWaiting {
			continue
		}
		if len(s.Nested) > 0 {
			o.printNested(res.ID, s)
			continue
		}
		what := "approval"
		if s.Interrupted {
			what = "a decision to run it again after it was interrupted"
		}
		id, step := printable.Line(res.ID), printable.Line(s.ID)
		fmt.Fprintf(w, "run %s waits for %s of step %s:\n  steward approve %s %s --comment \"...\"\n  steward approve %s %s --deny --comment \"...\"\n",
			id, what, step, id, step, id, step)
		if len(s.Approvers) > 0 {
			fmt.Fprintf(w, "  who may decide: %s\n", printable.Line(whoMayDecide(o.cfg, s.Approvers)))
		}
		if len(s.Subjects) > 0 {
			// approval.subjects: who the change is about.
			fmt.Fprintf(w, "  never: %s (the change is about them)\n", printable.Line(strings.Join(s.Subjects, ", ")))
		}
	}
}

// printNested tells the commands that decide what the sub-runs of step s
// wait for: by the path from the run (the sub-run's id works too).
func (o *runOutput) printNested(runID string, s *engine.StepResult) {
	w := o.cmd.ErrOrStderr()
	id := printable.Line(runID)
	for _, q := range s.Nested {
		what := "approval"
		if q.Interrupted {
			what = "a decision to run it again after it was interrupted"
		}
		path := printable.Line(q.Step)
		fmt.Fprintf(w, "run %s waits, through step %s, for %s of %s in a sub-run:\n  steward approve %s %s --comment \"...\"\n  steward approve %s %s --deny --comment \"...\"\n",
			id, printable.Line(s.ID), what, path, id, path, id, path)
		if len(q.Approvers) > 0 {
			fmt.Fprintf(w, "  who may decide: %s\n", printable.Line(whoMayDecide(o.cfg, q.Approvers)))
		}
	}
}

// whoMayDecide names the approvers, with the members of those that are
// approvals groups in steward.yaml.
func whoMayDecide(cfg *config.Config, approvers []string) string {
	return policy(cfg).Describe(approvers)
}

// policy is who may decide approvals, from steward.yaml.
func policy(cfg *config.Config) journal.Policy {
	return journal.Policy{Groups: cfg.Approvals.Groups, AllowSelfApproval: cfg.Approvals.AllowSelfApproval, Config: cfg.File}
}

// serviceError turns an error of the run service into the CLI's exit
// status and message.
func serviceError(id string, err error) error {
	var (
		invalid *runs.InvalidRunbookError
		input   *runs.InputError
		missing *runs.MissingSecretsError
		refused *runs.RefusedError
		decided *runs.AlreadyDecidedError
		still   *runs.StillRunningError
		sub     *runs.SubRunError
		ee      *exitError
	)
	switch {
	case errors.As(err, &ee):
		return err
	case errors.Is(err, runs.ErrNotFound):
		return &exitError{code: exitInvalid, err: fmt.Errorf("no run %s in the journal: steward runs lists them", id)}
	case errors.As(err, &invalid):
		if invalid.RunID != "" {
			return &exitError{code: exitInvalid, err: fmt.Errorf("run %s: %w", invalid.RunID, err)}
		}
		return &exitError{code: exitInvalid, err: err}
	case errors.As(err, &input):
		return &exitError{code: exitInvalid, err: err}
	case errors.As(err, &missing):
		return usageError("the journal never keeps secret inputs: give %s again with --input NAME=VALUE", strings.Join(missing.Inputs, ", "))
	case errors.As(err, &refused), errors.As(err, &decided), errors.As(err, &still):
		return &exitError{code: exitFailed, err: err}
	case errors.As(err, &sub):
		return usageError("%v", err)
	case errors.Is(err, runs.ErrNotWaiting):
		// The sentinel reads "journal: the step is not waiting for a
		// decision"; what follows it says which and what does wait.
		msg := strings.TrimPrefix(err.Error(), runs.ErrNotWaiting.Error()+": ")
		return &exitError{code: exitInvalid, err: fmt.Errorf("nothing to decide: %s", msg)}
	}
	return &exitError{code: exitFailed, err: err}
}

// printDiagnostics prints the problems of a runbook that cannot run.
func printDiagnostics(w io.Writer, err error) {
	var invalid *runs.InvalidRunbookError
	if errors.As(err, &invalid) {
		fmt.Fprint(w, printable.String(invalid.Diagnostics.Strict().Render()))
	}
}

// writeJSON prints one indented JSON document, with the characters a
// terminal acts on that encoding/json leaves raw (C1 controls, DEL)
// escaped as \u00XX: the same JSON value (see printable.JSON).
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(printable.JSON(b.Bytes()))
	return err
}
