package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

func newRunbooksCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "runbooks",
		Aliases: []string{"list"},
		Short:   "List the runbooks steward run NAME finds, with their titles and inputs",
		Long: `List the runbooks that steward run NAME finds: those of the runbook
folders (steward.yaml's runbooks list, default ./runbooks), then those of
the library bundled in steward. A name found in a folder hides the bundled
runbook of that name (and one in a later folder): the SOURCE column says
so.

INPUTS names each runbook's inputs: NAME* is required, NAME=VALUE has a
default. steward run NAME --help describes them.`,
		Example: `  steward runbooks
  steward list -o json | jq '.[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			list, err := listRunbooks(cmd.Context(), g, cfg) // sources.go
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if output == "json" {
				docs := make([]listedRunbook, len(list))
				for i, e := range list {
					docs[i] = listed(e)
				}
				return writeJSON(cmd.OutOrStdout(), docs)
			}
			renderRunbooks(cmd.OutOrStdout(), list)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// listedRunbook is one runbook of steward runbooks -o json.
type listedRunbook struct {
	Name        string        `json:"name"`
	Title       string        `json:"title,omitempty"`
	Description string        `json:"description,omitempty"`
	File        string        `json:"file"`
	Bundled     bool          `json:"bundled"`
	Hides       []string      `json:"hides,omitempty"`
	Problems    int           `json:"problems,omitempty"`
	Inputs      []listedInput `json:"inputs"`
}

type listedInput struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Default     any      `json:"default,omitempty"`
	Enum        []any    `json:"enum,omitempty"`
	Pattern     string   `json:"pattern,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Secret      bool     `json:"secret,omitempty"`
	Description string   `json:"description,omitempty"`
}

func listed(e *runbooks.Entry) listedRunbook {
	rb := e.Runbook
	d := listedRunbook{Name: e.Name, Title: rb.Title, Description: rb.Description, File: e.Doc.File, Bundled: e.Bundled,
		Hides: e.Hides, Problems: e.Problems, Inputs: []listedInput{}}
	for _, in := range rb.Inputs {
		li := listedInput{Name: in.Name, Type: inputType(in), Required: in.Required, Enum: in.Enum, Min: in.Min, Max: in.Max,
			Secret: in.Secret, Description: in.Description}
		if in.HasDefault {
			li.Default = in.Default
		}
		if in.Pattern != nil {
			li.Pattern = in.Pattern.String()
		}
		d.Inputs = append(d.Inputs, li)
	}
	return d
}

func inputType(in *schema.Input) string {
	if in.Type == "" {
		return "string"
	}
	return string(in.Type)
}

func renderRunbooks(w io.Writer, list []*runbooks.Entry) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTITLE\tINPUTS\tSOURCE")
	for _, e := range list {
		title := e.Runbook.Title
		if e.Problems > 0 {
			title = fmt.Sprintf("(invalid: %s; steward validate %s)", plural(e.Problems, "problem"), e.Doc.File)
		}
		var inputs []string
		for _, in := range e.Runbook.Inputs {
			s := in.Name
			switch {
			case in.Required && !in.HasDefault:
				s += "*"
			case in.HasDefault:
				s += "=" + clip(showDefault(in.Default), 20)
			}
			inputs = append(inputs, s)
		}
		source := e.Doc.File
		if e.Bundled {
			source = "bundled"
		}
		if hides := hidden(e.Hides); hides != "" {
			source += " (hides " + hides + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", printable.Line(e.Name), clip(title, 60), clip(strings.Join(inputs, ", "), 60), printable.Line(source))
	}
	tw.Flush()
}

// hidden names the files a runbook hides: "the bundled one" for the
// bundled library's.
func hidden(files []string) string {
	parts := make([]string, len(files))
	for i, f := range files {
		parts[i] = f
		if strings.HasPrefix(f, runbooks.BundledPrefix) {
			parts[i] = "the bundled one"
		}
	}
	return strings.Join(parts, ", ")
}

// runbookHelp is steward run NAME --help: the runbook NAME|FILE names,
// its description and its inputs, then the command's usage. When ref
// names no runbook, the command's help, then why.
func runbookHelp(c *cobra.Command, g *globalFlags, ref string, help func(*cobra.Command, []string)) {
	w := c.OutOrStdout()
	cfg, err := g.loadConfig(c)
	var doc *runbooks.Document
	if err == nil {
		doc, err = resolveRunbook(c.Context(), g, cfg, ref) // sources.go
	}
	if err != nil {
		help(c, nil)
		fmt.Fprintf(c.ErrOrStderr(), "\nsteward: %s\n", printable.String(userMessage(err.Error())))
		return
	}
	rb, diags := schema.Load(doc.File, doc.Src)
	line := printable.Line
	head := line(ref)
	if rb.Name != "" {
		head = line(rb.Name)
	}
	if rb.Title != "" {
		head += ": " + line(rb.Title)
	}
	fmt.Fprintf(w, "%s\n  %s\n", head, line(doc.File))
	if n, _ := diags.Count(); n > 0 {
		fmt.Fprintf(w, "  invalid: %s; steward validate %s lists them\n", plural(n, "problem"), line(doc.File))
	}
	if d := strings.TrimSpace(rb.Description); d != "" {
		fmt.Fprintf(w, "\n%s\n", printable.String(d))
	}
	if len(rb.Inputs) == 0 {
		fmt.Fprintln(w, "\nInputs: none")
	} else {
		fmt.Fprintln(w, "\nInputs (--input NAME=VALUE, or --inputs FILE):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tTYPE\tREQUIRED\tDEFAULT\tDESCRIPTION")
		for _, in := range rb.Inputs {
			req, def := "no", ""
			if in.Required && !in.HasDefault {
				req = "yes"
			}
			if in.HasDefault {
				def = clip(showDefault(in.Default), 30)
			}
			var notes []string
			if d := strings.TrimSpace(in.Description); d != "" {
				notes = append(notes, d)
			}
			if len(in.Enum) > 0 {
				vals := make([]string, len(in.Enum))
				for i, v := range in.Enum {
					vals[i] = compact(v)
				}
				notes = append(notes, "one of: "+strings.Join(vals, ", "))
			}
			if in.Pattern != nil {
				notes = append(notes, "matches "+in.Pattern.String())
			}
			if in.Min != nil {
				notes = append(notes, fmt.Sprintf("at least %v", *in.Min))
			}
			if in.Max != nil {
				notes = append(notes, fmt.Sprintf("at most %v", *in.Max))
			}
			if in.Secret {
				notes = append(notes, "secret: never stored or printed")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", line(in.Name), inputType(in), req, def, clip(strings.Join(notes, "; "), 200))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\n%s", c.UsageString())
}

// showDefault is an input's default as written on a command line: an
// empty string as "".
func showDefault(v any) string {
	if v == "" {
		return `""`
	}
	return compact(v)
}
