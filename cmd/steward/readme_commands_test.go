package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// readmeCommandRe is a command of the README's Commands table: a code
// span starting with "steward ".
var readmeCommandRe = regexp.MustCompile("`(steward [^`]*)`")

// flagRe is a flag a command of the table shows.
var flagRe = regexp.MustCompile(`(?:^|[\s\[])(--?[a-z][a-z-]*)`)

// wordRe is a command's or subcommand's name; placeholders (NAME,
// RUN_ID) are upper case.
var wordRe = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// TestReadmeCommands: every command of the README's Commands table
// exists, with every flag it shows (on each command a row names, as in
// "plugins list|describe NAME|lock [-o json]"), and every command steward
// has is in the table; the global flags the README names exist. So the
// table cannot drift from the CLI.
func TestReadmeCommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	table := between(t, readme, "## Commands\n", "\nGlobal flags:")
	root := newRootCmd()
	root.InitDefaultCompletionCmd()
	shown := map[*cobra.Command]bool{}
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| `steward") {
			continue
		}
		rows++
		first, _, _ := strings.Cut(strings.ReplaceAll(line[1:], `\|`, "\x00"), "|")
		for _, m := range readmeCommandRe.FindAllStringSubmatch(first, -1) {
			span := strings.ReplaceAll(m[1], "\x00", "|")
			targets := readmeTargets(t, root, span)
			for _, c := range targets {
				for p := c; p != nil; p = p.Parent() {
					shown[p] = true
				}
			}
			for _, f := range flagRe.FindAllStringSubmatch(span, -1) {
				for _, c := range targets {
					if !hasFlag(c, f[1]) {
						t.Errorf("README: %q shows %s, which steward %s does not have", span, f[1], c.CommandPath()[len("steward "):])
					}
				}
			}
		}
	}
	if rows < 15 {
		t.Fatalf("the README's Commands table has %d rows", rows)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if s.Hidden || s.Name() == "help" || !s.IsAvailableCommand() {
				continue
			}
			if s.Parent() == root && s.Name() == "completion" {
				// Its shells are named in its row: bash|zsh|fish.
				if !shown[s] {
					t.Errorf("the README's Commands table does not name steward completion")
				}
				continue
			}
			if !shown[s] {
				t.Errorf("the README's Commands table does not name %s", s.CommandPath())
				continue
			}
			walk(s)
		}
	}
	walk(root)

	global := between(t, readme, "Global flags:", "\n\n")
	for _, f := range []string{"--home", "--config", "--allow-unpinned"} {
		if !strings.Contains(global, "`"+f) {
			t.Errorf("the README's global flags do not name %s", f)
		}
		if root.PersistentFlags().Lookup(f[2:]) == nil {
			t.Errorf("the README names the global flag %s, which steward does not have", f)
		}
	}
}

// readmeTargets returns the commands a span of the Commands table names:
// "steward audit verify [...]" names audit verify; "steward plugins
// list|describe NAME|lock" names plugins list, describe and lock.
func readmeTargets(t *testing.T, root *cobra.Command, span string) []*cobra.Command {
	t.Helper()
	level, targets := root, []*cobra.Command{root}
	for _, w := range strings.Fields(span)[1:] {
		if strings.HasPrefix(w, "[") || strings.HasPrefix(w, "-") {
			break
		}
		var names []string
		for _, p := range strings.Split(w, "|") {
			if wordRe.MatchString(p) {
				names = append(names, p)
			}
		}
		if len(names) == 0 {
			continue // a placeholder: NAME, RUN_ID
		}
		find := func(name string) *cobra.Command {
			for _, c := range level.Commands() {
				if c.Name() == name || slices.Contains(c.Aliases, name) {
					return c
				}
			}
			t.Fatalf("README: %q names %s, which steward %s does not have", span, name, level.CommandPath())
			return nil
		}
		if !strings.Contains(w, "|") {
			level = find(names[0])
			targets = []*cobra.Command{level}
			continue
		}
		// Alternatives: commands beside each other under level.
		if len(targets) == 1 && targets[0] == level {
			targets = nil
		}
		for _, n := range names {
			targets = append(targets, find(n))
		}
	}
	return targets
}

// hasFlag says whether c has flag ("--name" or "-n"), its own or
// inherited.
func hasFlag(c *cobra.Command, flag string) bool {
	if name, ok := strings.CutPrefix(flag, "--"); ok {
		return c.Flags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil
	}
	short := strings.TrimPrefix(flag, "-")
	return c.Flags().ShorthandLookup(short) != nil || c.InheritedFlags().ShorthandLookup(short) != nil
}
