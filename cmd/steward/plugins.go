package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/plugins"
	"github.com/stewardhq/steward/schema"
)

func newPluginsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List, describe, install and pin the action plugins",
		Long: `A plugin adds actions to Steward: payments.get_payment, chains.tx_status...
It is an executable named steward-plugin-NAME that Steward starts, talks to
over gRPC (hashicorp/go-plugin) and reuses for the whole run; its actions
are named NAME.ACTION in runbooks. It describes each action: what it does,
its input and output schemas (steward validate checks each step's with
against them), whether it mutates, whether it is idempotent, and which
outputs are secrets (redacted like secret inputs).

Plugins are looked for in the folders of steward.yaml's plugins.folders,
in order, by default $STEWARD_HOME/plugins (see --home), then the folder
of the steward binary, then ./bin of the current folder; the first folder
that has a name wins. steward plugins install copies a binary, or builds
a bundled plugin, into the first folder and pins it. A plugin gets only its settings
(plugins.settings.NAME in steward.yaml, where {secret: NAME} reads the
environment variable STEWARD_SECRET_NAME) and a minimal environment:
never steward's own variables or credentials.

The lock file (plugins.lock in steward.yaml, by default
$STEWARD_HOME/plugins.lock) pins each plugin binary to its SHA-256.
Steward starts only a binary whose SHA-256 is the one pinned: a binary the
lock file does not name is not pinned, one that differs from its pin has
changed, and both are refused. After installing or upgrading a plugin,
check it, then run steward plugins lock, and review the change of the
lock file like a change of code. While you develop a plugin,
--allow-unpinned (env STEWARD_ALLOW_UNPINNED=1) starts binaries the lock
file does not name; a changed binary is still refused.

Writing a plugin: docs/plugins.md.`,
		Example: `  steward plugins list
  steward plugins describe payments
  steward plugins lock
  steward plugins install evm
  steward --allow-unpinned plugins describe mine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError("name a command: steward plugins list, describe NAME, lock or install PATH|NAME")
		},
	}
	cmd.AddCommand(newPluginsListCmd(g), newPluginsDescribeCmd(g), newPluginsLockCmd(g), newPluginsInstallCmd(g))
	return cmd
}

func checkFormat(output string) error {
	if output != "text" && output != "json" {
		return usageError("unknown output format %q: use text or json", output)
	}
	return nil
}

func newPluginsListCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the installed plugins, their versions and lock state",
		Long: `List every plugin binary in the plugin folders: its name, version, plugin
protocol, lock state, number of actions and path.

LOCK is pinned (its SHA-256 is the one in the lock file), unpinned (the
lock file does not name it: run steward plugins lock once you trust it) or
changed (it differs from its pin: it was replaced or tampered with, and is
refused). What a pinned plugin says of itself comes from a cache under
--home, or from starting it once; an unpinned plugin is not started, so
its version and actions show as -, unless --allow-unpinned.

-o json prints a JSON array: name, path, sha256, lock, locked_sha256, the
description (version, protocol, actions with their schemas) and problem.

Exit status: 0 when every plugin is pinned and usable or merely unpinned,
1 when any has changed since it was locked or cannot be started (each
problem is printed on stderr).`,
		Example: `  steward plugins list
  steward plugins list -o json | jq '.[] | select(.lock != "pinned") | .name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(output); err != nil {
				return err
			}
			return listPlugins(cmd, g, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func listPlugins(cmd *cobra.Command, g *globalFlags, output string) error {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	host, err := openPlugins(cmd, g, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer host.Close()
	list, err := host.List(cmd.Context(), true)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	places := g.pluginPlaces(cfg)
	errw := cmd.ErrOrStderr()
	var unpinned []string
	broken := 0
	for i, p := range list {
		switch {
		case p.Lock == plugins.Unpinned && !g.allowUnpinned:
			unpinned = append(unpinned, p.Name)
			list[i].Problem = "" // it is not started: not a failure
		case p.Problem != "":
			broken++
		}
	}
	if output == "json" {
		if list == nil {
			list = []plugins.Installed{}
		}
		if err := writeJSON(cmd.OutOrStdout(), list); err != nil {
			return err
		}
	} else if len(list) == 0 {
		fmt.Fprintf(errw, "no plugins in %s (a plugin is an executable named %sNAME)\n", folderList(places.folders), plugins.Prefix)
		return nil
	} else {
		out := printable.NewWriter(cmd.OutOrStdout()) // what a plugin says of itself
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tVERSION\tPROTOCOL\tLOCK\tACTIONS\tPATH")
		for _, p := range list {
			version, protocol, acts := "-", "-", "-"
			if d := p.Description; d != nil {
				version, protocol, acts = orDash(d.Version), strconv.Itoa(d.Protocol), strconv.Itoa(len(d.Actions))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, version, protocol, orDash(string(p.Lock)), acts, p.Path)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	for _, p := range list {
		if p.Problem != "" {
			fmt.Fprintf(errw, "%s: %s\n", p.Name, printable.String(strings.TrimPrefix(p.Problem, "plugin "+p.Name+": ")))
		}
	}
	if len(unpinned) > 0 {
		fmt.Fprintf(errw, "not pinned in %s, so not started: %s; check %s, then run steward plugins lock\n",
			places.lock, strings.Join(unpinned, ", "), pluralWord(len(unpinned), "it", "them"))
	}
	if broken > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s cannot be used", pluralWord(broken, "1 plugin", strconv.Itoa(broken)+" plugins"))}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func newPluginsDescribeCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a plugin's actions, their flags and their input and output fields",
		Long: `Show what a plugin says of itself: its version, plugin protocol, path,
SHA-256 and lock state, its settings (plugins.settings.NAME in
steward.yaml), and each action with its flags and its input and output
fields: name, type, whether it is required, its allowed values, default
and description.

The flags of an action: mutates (it changes something: --dry-run does not
execute it) or read-only; idempotent (running it again with the same
idempotency key has no further effect: an interrupted attempt may be
retried); sensitive outputs (secrets, redacted like secret inputs).

What a plugin says of itself comes from a cache under --home, or from
starting it: only a pinned binary is started, or any with --allow-unpinned.
-o json prints the description as one JSON document.

Exit status: 0 described, 1 the plugin cannot be started (not pinned,
changed, failed), 2 no such plugin.`,
		Example: `  steward plugins describe payments
  steward plugins describe payments -o json | jq '.actions[].name'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(output); err != nil {
				return err
			}
			return describePlugin(cmd, g, args[0], output)
		},
		ValidArgsFunction: completePlugin(g),
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func describePlugin(cmd *cobra.Command, g *globalFlags, name, output string) error {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	host, err := openPlugins(cmd, g, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer host.Close()
	list, err := host.List(cmd.Context(), false)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	var in *plugins.Installed
	names := make([]string, len(list))
	for i := range list {
		names[i] = list[i].Name
		if list[i].Name == name {
			in = &list[i]
		}
	}
	if in == nil {
		hint := ""
		if s := schema.Suggest(name, names); s != "" {
			hint = fmt.Sprintf(": did you mean %q?", s)
		} else if len(names) > 0 {
			hint = ": installed: " + strings.Join(names, ", ")
		} else {
			hint = " (no plugins in " + folderList(g.pluginPlaces(cfg).folders) + ")"
		}
		return usageError("no plugin %q is installed%s", name, hint)
	}
	if in.Problem != "" {
		return &exitError{code: exitFailed, err: errors.New(in.Problem)}
	}
	d, err := host.Describe(cmd.Context(), name)
	if err != nil {
		if output == "text" {
			printInstalled(cmd, in, nil)
		}
		if in.Lock == plugins.Unpinned {
			err = fmt.Errorf("%w; or, while you develop it, steward --allow-unpinned plugins describe %s", err, name)
		}
		return &exitError{code: exitFailed, err: err}
	}
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), d)
	}
	printInstalled(cmd, in, d)
	return nil
}

func newPluginsLockCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Pin every installed plugin to the SHA-256 of its binary",
		Long: `Write the lock file: one line per installed plugin, NAME VERSION
sha256:HEX, the SHA-256 of its binary now. Steward starts only binaries
whose SHA-256 is pinned there, so run it after you installed, upgraded or
removed a plugin and checked the binary, and review the change of the lock
file like a change of code (commit it with steward.yaml when the lock file
lives in your repository: plugins.lock in steward.yaml).

A new or changed binary is started once, to learn its version; if one
fails to start, the lock file is not changed. Each line of the output is
a change: + added, ~ updated (old → new), - removed (no longer installed),
= unchanged. -o json prints {lock_file, changes}.

Exit status: 0 written, 1 not written (a plugin failed to start, the lock
file could not be written).`,
		Example: `  steward plugins lock
  git diff plugins.lock`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(output); err != nil {
				return err
			}
			return lockPlugins(cmd, g, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func lockPlugins(cmd *cobra.Command, g *globalFlags, output string) error {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	host, err := openPlugins(cmd, g, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer host.Close()
	changes, err := host.WriteLock(cmd.Context())
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	places := g.pluginPlaces(cfg)
	if output == "json" {
		if changes == nil {
			changes = []plugins.LockChange{}
		}
		return writeJSON(cmd.OutOrStdout(), struct {
			LockFile string               `json:"lock_file"`
			Changes  []plugins.LockChange `json:"changes"`
		}{places.lock, changes})
	}
	pinned := 0
	for _, c := range changes {
		printLockChange(cmd.OutOrStdout(), c)
		if c.Change != "removed" {
			pinned++
		}
	}
	if pinned == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "no plugins in %s\n", folderList(places.folders))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %s pinned\n", places.lock, plural(pinned, "plugin"))
	return nil
}

// printLockChange prints one change of the lock file: + added, ~ updated,
// - removed, = unchanged.
func printLockChange(out io.Writer, c plugins.LockChange) {
	switch c.Change {
	case "added":
		fmt.Fprintf(out, "+ %s %s sha256:%s\n", c.Name, orDash(c.Version), short(c.SHA256))
	case "updated":
		v := orDash(c.Version)
		if c.OldVersion != c.Version {
			v = orDash(c.OldVersion) + " → " + v
		}
		fmt.Fprintf(out, "~ %s %s sha256:%s → sha256:%s\n", c.Name, v, short(c.OldSHA256), short(c.SHA256))
	case "removed":
		fmt.Fprintf(out, "- %s %s sha256:%s\n", c.Name, orDash(c.OldVersion), short(c.OldSHA256))
	default:
		fmt.Fprintf(out, "= %s %s sha256:%s\n", c.Name, orDash(c.Version), short(c.SHA256))
	}
}
