package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
)

// Shell completion (steward completion bash|zsh|fish|powershell, cobra's):
// what each argument and flag may be, read from the runbook folders, the
// journal and the plugin folders. A completion never fails: what cannot
// be read offers nothing.

// completedRuns is how many recent runs a run id completes from.
const completedRuns = 50

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completeRunbook completes the NAME|FILE of steward run: the runbook
// names steward runbooks lists, with their titles; a path (holding a
// slash or a dot) completes as a file.
func completeRunbook(g *globalFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		if strings.ContainsAny(toComplete, "/.") {
			return nil, cobra.ShellCompDirectiveDefault
		}
		cfg, err := g.loadConfig(cmd)
		if err != nil {
			return nil, noFiles
		}
		list, err := listRunbooks(cmd.Context(), g, cfg) // sources.go
		if err != nil {
			return nil, noFiles
		}
		var out []cobra.Completion
		for _, e := range list {
			if strings.HasPrefix(e.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(e.Name, oneLine(e.Runbook.Title)))
			}
		}
		return out, noFiles
	}
}

// completeInput completes --input of steward run NAME: NAME= for each
// input not given yet, with its description; after NAME=, the values of
// its enum (true and false for a boolean).
func completeInput(g *globalFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, noFiles
		}
		cfg, err := g.loadConfig(cmd)
		if err != nil {
			return nil, noFiles
		}
		doc, err := resolveRunbook(cmd.Context(), g, cfg, args[0]) // sources.go
		if err != nil {
			return nil, noFiles
		}
		rb, _ := schema.Load(doc.File, doc.Src)
		if name, typed, ok := strings.Cut(toComplete, "="); ok {
			in := findInput(rb, name)
			if in == nil {
				return nil, noFiles
			}
			values := in.Enum
			if in.Type == schema.TypeBoolean && len(values) == 0 {
				values = []any{true, false}
			}
			var out []cobra.Completion
			for _, v := range values {
				if s := compact(v); strings.HasPrefix(s, typed) {
					out = append(out, name+"="+s)
				}
			}
			return out, noFiles
		}
		given := map[string]bool{}
		if prev, err := cmd.Flags().GetStringArray("input"); err == nil {
			for _, kv := range prev {
				n, _, _ := strings.Cut(kv, "=")
				given[n] = true
			}
		}
		var out []cobra.Completion
		for _, in := range rb.Inputs {
			if given[in.Name] || !strings.HasPrefix(in.Name, toComplete) {
				continue
			}
			desc := inputType(in)
			if in.Required && !in.HasDefault {
				desc += ", required"
			}
			if d := oneLine(in.Description); d != "" {
				desc += ": " + d
			}
			out = append(out, cobra.CompletionWithDesc(in.Name+"=", desc))
		}
		return out, noFiles | cobra.ShellCompDirectiveNoSpace
	}
}

// completeRunID completes the RUN_ID of show, resume, cancel and approve:
// the most recent runs, newest first, with runbook, status and start;
// first runs that have status, when first is not empty (approve: waiting).
func completeRunID(g *globalFlags, first string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		return runIDs(cmd, g, first, toComplete), noFiles | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeRunFlag completes a --run flag (audit verify, audit export).
func completeRunFlag(g *globalFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return runIDs(cmd, g, "", toComplete), noFiles | cobra.ShellCompDirectiveKeepOrder
	}
}

func runIDs(cmd *cobra.Command, g *globalFlags, first, toComplete string) []cobra.Completion {
	svc, closeStore, ok := completionStore(cmd, g)
	if !ok {
		return nil
	}
	defer closeStore()
	var head, rest []cobra.Completion
	add := func(to *[]cobra.Completion) func(r runs.Summary) error {
		return func(r runs.Summary) error {
			if first != "" && r.Status == first && to == &rest {
				return nil // listed first
			}
			if strings.HasPrefix(r.ID, toComplete) {
				*to = append(*to, cobra.CompletionWithDesc(r.ID,
					fmt.Sprintf("%s %s %s", oneLine(r.Runbook), r.Status, r.StartedAt.Local().Format(time.DateTime))))
			}
			return nil
		}
	}
	if first != "" {
		_ = svc.List(cmd.Context(), runs.Filter{Status: first, Limit: completedRuns}, add(&head))
	}
	_ = svc.List(cmd.Context(), runs.Filter{Limit: completedRuns}, add(&rest))
	return append(head, rest...)
}

// completeWaitingStep completes the STEP of steward approve RUN_ID: the
// steps the run waits for, with their approval message.
func completeWaitingStep(g *globalFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) != 1 {
			return nil, noFiles
		}
		svc, closeStore, ok := completionStore(cmd, g)
		if !ok {
			return nil, noFiles
		}
		defer closeStore()
		id, err := svc.Resolve(cmd.Context(), args[0])
		if err != nil {
			return nil, noFiles
		}
		run, err := svc.Get(cmd.Context(), id)
		if err != nil {
			return nil, noFiles
		}
		var out []cobra.Completion
		for _, w := range run.State.Waiting {
			if !strings.HasPrefix(w.Step, toComplete) {
				continue
			}
			desc := oneLine(w.Message)
			if w.Interrupted {
				desc = "interrupted: run it again? " + desc
			}
			out = append(out, cobra.CompletionWithDesc(w.Step, desc))
		}
		return out, noFiles
	}
}

// completionStore opens the journal for a completion, when there is one:
// completing never creates a home (a PostgreSQL store is opened).
func completionStore(cmd *cobra.Command, g *globalFlags) (*runs.Service, func(), bool) {
	if os.Getenv("STEWARD_DATABASE_URL") == "" {
		if cfg, err := g.readConfig(cmd); err != nil || cfg.Store == "" {
			if _, err := os.Stat(filepath.Join(g.home, "journal.db")); err != nil {
				return nil, nil, false
			}
		}
	}
	svc, closeStore, err := openRuns(cmd, g)
	if err != nil {
		return nil, nil, false
	}
	return svc, closeStore, true
}

// completePlugin completes the NAME of steward plugins describe: the
// plugins in the plugin folders.
func completePlugin(g *globalFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		cfg, err := g.loadConfig(cmd)
		if err != nil {
			return nil, noFiles
		}
		host, err := openPlugins(cmd, g, cfg, nil, nil)
		if err != nil {
			return nil, noFiles
		}
		defer host.Close()
		names := host.Plugins()
		sort.Strings(names)
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, noFiles
	}
}

// waitingStatus is the status approve completes first.
var waitingStatus = string(engine.StatusWaiting)
