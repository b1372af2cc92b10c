package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/runbooks/sources"
	"github.com/stewardhq/steward/schema"
)

func newSourcesCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sources",
		Short: "Show, sync and check the Git and GitHub sources of runbooks",
		Long: `Runbooks come from the sources of steward.yaml: folders, local Git
repositories and GitHub repositories (see docs/sources.md). A Git or
GitHub source runs the runbooks of one commit, its pin, kept under --home.

steward sources sync resolves each source's ref, checks its policy
(reachable from the protected branch, signed by an allowed key), validates
every runbook of the new commit, and only then moves the pin: a broken or
unreviewed commit never replaces a working pin.`,
	}
	cmd.AddCommand(newSourcesListCmd(g), newSourcesSyncCmd(g), newSourcesStatusCmd(g))
	return cmd
}

func newSourcesListCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the sources and their pins (without asking the repositories)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			list, err := sources.Statuses(cmd.Context(), g.home, cfg.Sources)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tREPOSITORY\tREF\tPIN\tLAST SYNC")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable.Line(s.Source), s.Kind, printable.Line(s.Repo), printable.Line(s.Ref), pinOf(&s.State), lastOf(s.Last))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func pinOf(st *sources.State) string {
	switch {
	case st.Kind == config.SourceFolder:
		return "-"
	case st.Pin == nil:
		return "(none: steward sources sync " + st.Source + ")"
	}
	return short12(st.Pin.Commit)
}

func lastOf(a *sources.Attempt) string {
	switch {
	case a == nil:
		return ""
	case a.Error != "":
		return fmt.Sprintf("%s refused %s: %s", a.At.Local().Format("2006-01-02 15:04"), short12(a.Commit), clip(a.Error, 80))
	}
	return fmt.Sprintf("%s ok %s", a.At.Local().Format("2006-01-02 15:04"), short12(a.Commit))
}

func short12(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// gitSources returns the Git and GitHub sources named (all when none),
// or a usage error for a name steward.yaml does not define.
func gitSources(cfg *config.Config, names []string) ([]config.Source, error) {
	var out []config.Source
	if len(names) == 0 {
		for _, s := range cfg.Sources {
			if s.Kind != config.SourceFolder {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			return nil, usageError("steward.yaml has no git: or github: source; see docs/sources.md")
		}
		return out, nil
	}
	var known []string
	for _, s := range cfg.Sources {
		known = append(known, s.Name)
	}
	for _, n := range names {
		s, ok := cfg.Source(n)
		if !ok {
			msg := fmt.Sprintf("no source named %q in %s", n, cfg.File)
			if sug := schema.Suggest(n, known); sug != "" {
				msg += fmt.Sprintf("; did you mean %q?", sug)
			}
			return nil, usageError("%s", msg)
		}
		if s.Kind == config.SourceFolder {
			return nil, usageError("source %q is a folder: it has no commit to pin", n)
		}
		out = append(out, *s)
	}
	return out, nil
}

func newSourcesSyncCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "sync [NAME...]",
		Short: "Fetch, check and validate each source's ref, and pin it when all is well",
		Long: `Sync Git and GitHub sources (all, or those named): fetch, resolve the
ref to a commit, check the policy, validate every runbook and data file of
the commit (actions and their with against the installed plugins, as
steward validate does), and pin the commit only when all of it passes.
A refused commit leaves the pin as it was; its problems are printed as
FILE:LINE:COL: FIELD.PATH: message. For GitHub the outcome is posted as the
commit status steward/validate.

Exit status: 0 every source pinned, 2 a commit was refused (invalid,
off the protected branch, unsigned), 1 a repository could not be read.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			list, err := gitSources(cfg, args)
			if err != nil {
				return err
			}
			syncer, done, err := newSyncer(cmd, g, cfg)
			if err != nil {
				return err
			}
			defer done()
			var results []*sources.Result
			failed, refused := false, false
			for _, src := range list {
				res, err := syncer.Sync(cmd.Context(), src)
				if res == nil {
					res = &sources.Result{Source: src.Name, Ref: src.Ref}
				}
				results = append(results, res)
				switch {
				case err == nil:
				case sources.IsRefused(err):
					refused = true
				default:
					failed = true
				}
				if output == "text" {
					renderSync(cmd.OutOrStdout(), cmd.ErrOrStderr(), res, err)
				} else if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "steward: %s: %s\n", src.Name, printable.Line(err.Error()))
				}
			}
			if output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), results); err != nil {
					return err
				}
			}
			switch {
			case failed: // a repository could not be read: retry later
				return &exitError{code: exitFailed}
			case refused: // a commit is invalid or unreviewed
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// newSyncer makes a Syncer that validates as steward validate does:
// built-ins, installed plugins, approvers against steward.yaml.
func newSyncer(cmd *cobra.Command, g *globalFlags, cfg *config.Config) (*sources.Syncer, func(), error) {
	reg := builtins(clockwork.NewRealClock(), nil)
	host, err := openPlugins(cmd, g, cfg, reg, nil)
	if err != nil {
		return nil, nil, err
	}
	return syncerWith(g, cfg, reg), func() { host.Close() }, nil
}

// syncerWith makes a Syncer that checks actions against catalog (the
// built-ins and plugins) and approvers against steward.yaml: steward
// sources sync's, and steward serve's over its running plugins.
func syncerWith(g *globalFlags, cfg *config.Config, catalog schema.Catalog) *sources.Syncer {
	s := &sources.Syncer{Home: g.home, Catalog: catalog}
	if cfg.File != "" {
		s.Also = append(s.Also, func(rb *schema.Runbook) schema.Diagnostics {
			return schema.CheckApprovers(rb, cfg.Approvals.Groups, cfg.File)
		})
	}
	return s
}

func renderSync(w, errw io.Writer, r *sources.Result, err error) {
	line := printable.Line
	for _, d := range r.Problems {
		fmt.Fprint(w, printable.String(d.Render()))
	}
	switch {
	case err != nil && sources.IsRefused(err):
		keep := "no pin yet"
		if r.Previous != "" {
			keep = "the pin stays " + short12(r.Previous)
		}
		fmt.Fprintf(errw, "%s: refused %s (%s): %s; %s\n", line(r.Source), short12(r.Commit), line(r.Ref), line(userMessage(err.Error())), keep)
	case err != nil:
		fmt.Fprintf(errw, "%s: %s\n", line(r.Source), line(userMessage(err.Error())))
	case r.Previous == r.Commit:
		fmt.Fprintf(w, "%s: %s is still %s: %s valid\n", line(r.Source), line(r.Ref), short12(r.Commit), plural(r.Runbooks, "runbook"))
	default:
		was := ""
		if r.Previous != "" {
			was = " (was " + short12(r.Previous) + ")"
		}
		fmt.Fprintf(w, "%s: pinned %s%s at %s: %s valid; %s\n", line(r.Source), short12(r.Commit), was, line(r.Ref), plural(r.Runbooks, "runbook"), changes(r.Changes))
	}
}

func changes(c sources.Changes) string {
	return fmt.Sprintf("%d added, %d changed, %d removed", len(c.Added), len(c.Changed), len(c.Removed))
}

func newSourcesStatusCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status [NAME...]",
		Short: "Show each source's pin, what changed on its ref since, and its last problems",
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			list, err := gitSources(cfg, args)
			if err != nil {
				return err
			}
			var out []*sources.Status
			for _, src := range list {
				st, err := sources.GetStatus(cmd.Context(), g.home, src, sources.GitHubOptions{}, true)
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				out = append(out, st)
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			for _, st := range out {
				renderStatus(cmd.OutOrStdout(), st)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func renderStatus(w io.Writer, st *sources.Status) {
	line := printable.Line
	fmt.Fprintf(w, "%s (%s %s, ref %s)\n", line(st.Source), st.Kind, line(st.Repo), line(st.Ref))
	if st.Pin != nil {
		fmt.Fprintf(w, "  pin     %s, pinned %s, %s\n", st.Pin.Commit, st.Pin.PinnedAt.Local().Format("2006-01-02 15:04:05"), plural(st.Pin.Runbooks, "runbook"))
	} else {
		fmt.Fprintf(w, "  pin     none: steward sources sync %s\n", line(st.Source))
	}
	switch {
	case st.HeadError != "":
		fmt.Fprintf(w, "  head    cannot be read: %s\n", line(st.HeadError))
	case st.Pin != nil && st.Head == st.Pin.Commit:
		fmt.Fprintf(w, "  head    %s: the pin\n", st.Head)
	case st.HeadChanges != nil:
		fmt.Fprintf(w, "  head    %s: %s since the pin\n", st.Head, changes(*st.HeadChanges))
		for _, group := range []struct {
			sign  string
			paths []string
		}{{"A", st.HeadChanges.Added}, {"M", st.HeadChanges.Changed}, {"D", st.HeadChanges.Removed}} {
			for _, p := range group.paths {
				fmt.Fprintf(w, "    %s %s\n", group.sign, line(p))
			}
		}
	}
	if a := st.Last; a != nil {
		fmt.Fprintf(w, "  last    %s\n", lastOf(a))
		for _, d := range a.Problems {
			fmt.Fprint(w, indent(printable.String(d.Render()), "    "))
		}
	}
}

func indent(s, pre string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pre + l
		}
	}
	return strings.Join(lines, "")
}

// resolveRunbook finds what steward run REF names: a file, NAME or
// NAME@REF. A name is looked up in the pinned commits of the Git and
// GitHub sources first, in order, then in the folders, then in the
// bundled library; NAME@REF reads a Git source at REF where its
// allow_refs permit.
func resolveRunbook(ctx context.Context, g *globalFlags, cfg *config.Config, ref string) (*runbooks.Document, error) {
	name, at, hasAt := strings.Cut(ref, "@")
	if hasAt && !schema.IsName(name) {
		hasAt = false // a path with an @ in it
	}
	if hasAt || schema.IsName(ref) && sources.HasGit(cfg.Sources) {
		r := &sources.Resolver{Home: g.home, Sources: cfg.Sources}
		doc, found, err := r.Resolve(ctx, name, at)
		if err != nil {
			return nil, err
		}
		if found {
			return doc, nil
		}
	}
	return runbooks.Resolve(ref, cfg.Folders())
}

// subRunResolver finds a sub-run's runbook (core.runbook) by name, never
// by path: in the commit from, when the calling runbook was read from a
// Git or GitHub source's commit (runs.Config.Resolve), then in the
// pinned Git and GitHub sources, then in the folders and the bundled
// library. A nil from finds what steward run NAME finds (the API's and
// the webhooks' lookup).
func subRunResolver(g *globalFlags, cfg *config.Config) func(name string, from *runbooks.Pinned) (*runbooks.Document, error) {
	return func(name string, from *runbooks.Pinned) (*runbooks.Document, error) {
		if schema.IsName(name) && (from != nil || sources.HasGit(cfg.Sources)) {
			r := &sources.Resolver{Home: g.home, Sources: cfg.Sources}
			var doc *runbooks.Document
			var found bool
			var err error
			if from != nil {
				doc, found, err = r.ResolveFrom(context.Background(), name, *from)
			} else {
				doc, found, err = r.Resolve(context.Background(), name, "")
			}
			if err != nil || found {
				return doc, err
			}
		}
		return runbooks.ResolveName(name, cfg.Folders())
	}
}

// nameResolver finds a runbook by name, never by path, as steward run
// NAME does (subRunResolver with no calling runbook): the lookup of the
// API, the webhooks and /mcp.
func nameResolver(g *globalFlags, cfg *config.Config) func(name string) (*runbooks.Document, error) {
	resolve := subRunResolver(g, cfg)
	return func(name string) (*runbooks.Document, error) { return resolve(name, nil) }
}

// pinnedFiles returns the folder of a runbook read from a pinned commit,
// in that commit's tree, for a run that goes on.
func pinnedFiles(g *globalFlags, cfg *config.Config) func(context.Context, journal.Origin) (fs.FS, error) {
	return func(ctx context.Context, o journal.Origin) (fs.FS, error) {
		r := &sources.Resolver{Home: g.home, Sources: cfg.Sources}
		return r.Files(ctx, o.Source, o.Commit, o.Path)
	}
}

// listRunbooks lists what steward run NAME finds: the pinned runbooks of
// Git and GitHub sources, then the folders', then the bundled library.
func listRunbooks(ctx context.Context, g *globalFlags, cfg *config.Config) ([]*runbooks.Entry, error) {
	var pinned []*runbooks.Document
	if sources.HasGit(cfg.Sources) {
		var err error
		r := &sources.Resolver{Home: g.home, Sources: cfg.Sources}
		if pinned, err = r.Documents(ctx); err != nil {
			return nil, err
		}
	}
	return runbooks.ListWith(pinned, cfg.Folders())
}
