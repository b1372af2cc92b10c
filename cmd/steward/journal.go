package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/progress"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/plugins"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// openStore opens the journal under --home.
func openStore(g *globalFlags) (journal.Store, error) {
	s, err := sqlite.Open(g.home)
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return s, nil
}

// execution is one journaled execution of a run: a new run, or one that
// goes on (resume, approve, cancel).
type execution struct {
	cmd      *cobra.Command
	cfg      *config.Config
	store    journal.Store
	rb       *schema.Runbook
	opts     engine.Options
	run      journal.Run
	source   *journal.Source // a new run's runbook content
	origin   *journal.Origin
	output   string
	progress string
	// cancelled runs the execution with its context already cancelled:
	// no step starts and the undo of finished steps runs.
	cancelled bool
	// plugins is the plugin host of a run that goes on; close closes it.
	plugins *plugins.Host
}

// close stops the plugins the execution started.
func (x *execution) close() {
	if x.plugins != nil {
		x.plugins.Close()
	}
}

// execute runs the execution under the run's lock, records it, prints its
// progress and result, and returns the exit status of SPEC section 2.
func (x *execution) execute(inputs map[string]any) error {
	release, err := x.store.Acquire(context.Background(), x.run.ID)
	if errors.Is(err, journal.ErrRunBusy) {
		return &exitError{code: exitFailed, err: fmt.Errorf("run %s is being run by another process (pid %d on %s); wait for it, or steward cancel %s", x.run.ID, x.run.PID, x.run.Host, x.run.ID)}
	}
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	defer release()

	ctx, stop := interruptible(x.cmd.ErrOrStderr())
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if x.cancelled {
		cancel(errors.New("cancelled by request"))
	}
	host, _ := os.Hostname()
	x.run.Host, x.run.PID, x.run.Status = host, os.Getpid(), string(engine.StatusRunning)
	rec := journal.NewRecorder(x.store, journal.RecorderOptions{Run: x.run, Source: x.source, Origin: x.origin, Stop: cancel})
	out := x.cmd.OutOrStdout()
	var printer *progress.Printer
	sinks := engine.Sinks{rec}
	if x.output == "text" {
		printer = newPrinter(out, x.progress, x.rb)
		sinks = append(sinks, printer)
	}
	x.opts.Sink = sinks
	x.opts.RunID = x.run.ID
	res, err := engine.Run(ctx, x.rb, inputs, x.opts)
	if printer != nil {
		printer.Close()
	}
	if cerr := rec.Close(); cerr != nil {
		fmt.Fprintf(x.cmd.ErrOrStderr(), "steward: %v: the run was stopped\n", cerr)
		return &exitError{code: exitFailed}
	}
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	shown := res.Redacted()
	if x.output == "json" {
		if err := writeJSON(out, shown); err != nil {
			return err
		}
	} else {
		printer.Summary(shown)
	}
	switch res.Status {
	case engine.StatusSucceeded:
		return nil
	case engine.StatusWaiting:
		x.printWaiting(res)
		return &exitError{code: exitWaiting}
	}
	return &exitError{code: exitFailed}
}

// printWaiting tells, on stderr, the exact commands that decide what the
// run waits for.
func (x *execution) printWaiting(res *engine.Result) {
	w := x.cmd.ErrOrStderr()
	for _, s := range res.Steps {
		if s.Status != engine.StatusWaiting {
			continue
		}
		what := "approval"
		if strings.HasPrefix(s.Reason, "waiting for a decision") {
			what = "a decision to run it again after it was interrupted"
		}
		fmt.Fprintf(w, "run %s waits for %s of step %s:\n  steward approve %s %s --comment \"...\"\n  steward approve %s %s --deny --comment \"...\"\n",
			res.ID, what, s.ID, res.ID, s.ID, res.ID, s.ID)
		if len(s.Approvers) > 0 {
			fmt.Fprintf(w, "  who may decide: %s\n", x.whoMayDecide(s.Approvers))
		}
	}
}

// whoMayDecide names the approvers, with the members of those that are
// approvals groups in steward.yaml.
func (x *execution) whoMayDecide(approvers []string) string {
	parts := make([]string, len(approvers))
	for i, a := range approvers {
		parts[i] = a
		if members, ok := x.cfg.Approvals.Groups[a]; ok {
			parts[i] = fmt.Sprintf("%s (%s)", a, strings.Join(members, ", "))
			if len(members) == 0 {
				parts[i] = a + " (a group with no members in steward.yaml)"
			}
		}
	}
	return strings.Join(parts, ", ")
}

// loadRun reads a run's state from the journal; an unknown id is bad
// usage.
func loadRun(ctx context.Context, store journal.Store, id string) (*journal.State, error) {
	st, err := journal.Load(ctx, store, id)
	if errors.Is(err, journal.ErrRunNotFound) {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("no run %s in the journal: steward runs lists them", id)}
	}
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return st, nil
}

// continuation prepares the execution that goes on with a recorded run:
// the exact runbook version it started with, its inputs (secret ones given
// again), and what the journal says of its steps.
func continuation(cmd *cobra.Command, g *globalFlags, store journal.Store, st *journal.State, secretInputs []string, by string) (*execution, map[string]any, error) {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	src, err := store.Source(cmd.Context(), st.Run.Version)
	if err != nil {
		return nil, nil, &exitError{code: exitFailed, err: fmt.Errorf("run %s: its runbook version %s: %w", st.Run.ID, short(st.Run.Version), err)}
	}
	clock := clockwork.NewRealClock()
	// The runbook's folder as it is now: a data file read before the
	// stop is not read again (the step finished; its outputs are reused).
	files, _ := runbooks.FilesOf(src.File)
	opts := engine.Options{Clock: clock, DryRun: st.Run.DryRun, Actor: st.Run.Actor, Version: st.Run.Version, Secret: envSecret,
		Redact: &redact.Set{}, Files: files}
	reg := newRegistry(clock, cfg.Runbooks, opts, &subRunJournal{store: store, by: by})
	host, err := openPlugins(cmd, g, cfg, reg, opts.Redact)
	if err != nil {
		return nil, nil, err
	}
	opts.Registry = reg
	rb, diags := schema.Check(src.File, src.Src, reg)
	if err := refuseDiagnostics(cmd.ErrOrStderr(), src.File, diags); err != nil {
		host.Close()
		return nil, nil, &exitError{code: exitInvalid, err: fmt.Errorf("run %s: %w", st.Run.ID, errors.Unwrap(err))}
	}
	inputs, err := recordedInputs(rb, st, secretInputs)
	if err != nil {
		host.Close()
		return nil, nil, err
	}
	x := &execution{cmd: cmd, cfg: cfg, store: store, rb: rb, opts: opts, output: "text", progress: "auto", plugins: host}
	x.resumeFrom(st, by)
	return x, inputs, nil
}

// resumeFrom makes the execution go on from where the journal says the
// run stands.
func (x *execution) resumeFrom(st *journal.State, by string) {
	resume := *st.Resume
	resume.By = by
	x.opts.Resume = &resume
	x.opts.Approver = st.Approver(x.opts.Clock.Now)
	x.run = st.Run
	x.run.FinishedAt = time.Time{}
}

// recordedInputs are the run's inputs from its run.started record, with
// the secret ones, which the journal never holds, given again.
func recordedInputs(rb *schema.Runbook, st *journal.State, given []string) (map[string]any, error) {
	inputs := map[string]any{}
	for k, v := range st.Inputs {
		inputs[k] = v
	}
	supplied := map[string]string{}
	for _, kv := range given {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, usageError("--input %q: write NAME=VALUE", kv)
		}
		supplied[name] = val
	}
	var missing []string
	for _, in := range rb.Inputs {
		val, ok := supplied[in.Name]
		delete(supplied, in.Name)
		if !in.Secret {
			if ok {
				return nil, usageError("--input %s: only secret inputs are given again; the others are the run's own", in.Name)
			}
			continue
		}
		if _, had := st.Inputs[in.Name]; !had {
			continue
		}
		if !ok {
			missing = append(missing, in.Name)
			continue
		}
		v, err := engine.ParseInput(in, val)
		if err != nil {
			return nil, usageError("--input %s: is not a valid %s", in.Name, in.Type)
		}
		inputs[in.Name] = v
	}
	for name := range supplied {
		return nil, usageError("--input %s: %s has no such input", name, rb.Name)
	}
	if len(missing) > 0 {
		return nil, usageError("the journal never keeps secret inputs: give %s again with --input NAME=VALUE", strings.Join(missing, ", "))
	}
	return inputs, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// newRunRecord describes a new run for the journal.
func newRunRecord(id string, rb *schema.Runbook, doc *runbooks.Document, opts engine.Options, now time.Time) (journal.Run, *journal.Source, *journal.Origin) {
	host, _ := os.Hostname()
	run := journal.Run{ID: id, Runbook: rb.Name, Version: doc.SHA256, Actor: opts.Actor, Status: string(engine.StatusRunning),
		DryRun: opts.DryRun, StartedAt: now, UpdatedAt: now}
	src := &journal.Source{SHA256: doc.SHA256, Name: rb.Name, File: doc.File, Src: doc.Src}
	origin := &journal.Origin{File: doc.File, SHA256: doc.SHA256, Host: host, PID: os.Getpid()}
	if !strings.HasPrefix(doc.File, runbooks.BundledPrefix) {
		origin.Commit = runbooks.GitCommit(doc.File)
	}
	return run, src, origin
}

// writeJSON prints one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
