package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/plugins"
	"github.com/stewardhq/steward/schema"
)

// printInstalled prints what steward plugins describe shows: the plugin,
// then, when it could be described, its settings and each action.
func printInstalled(cmd *cobra.Command, in *plugins.Installed, d *plugins.Description) {
	// What a plugin says of itself is printed with its control characters
	// escaped.
	out := printable.NewWriter(cmd.OutOrStdout())
	defer out.Flush()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "plugin\t%s\n", in.Name)
	if d != nil {
		fmt.Fprintf(tw, "version\t%s\n", orDash(d.Version))
		if d.Description != "" {
			fmt.Fprintf(tw, "description\t%s\n", oneLine(d.Description))
		}
		fmt.Fprintf(tw, "protocol\t%d\n", d.Protocol)
	}
	fmt.Fprintf(tw, "path\t%s\n", in.Path)
	fmt.Fprintf(tw, "sha256\t%s\n", in.SHA256)
	fmt.Fprintf(tw, "lock\t%s\n", in.Lock)
	tw.Flush()
	if d == nil {
		return
	}
	if len(d.Config) > 0 {
		var s schema.DataSchema
		if json.Unmarshal(d.Config, &s) == nil {
			fmt.Fprintf(out, "\nsettings (plugins.settings.%s in steward.yaml):\n", d.Name)
			printFields(out, &s, "  ")
		}
	}
	for _, a := range d.Actions {
		printAction(out, a)
	}
}

// printAction prints one action: its name, description, flags, input and
// output fields.
func printAction(w io.Writer, a actions.Spec) {
	fmt.Fprintf(w, "\n%s\n", a.Name)
	if a.Description != "" {
		for _, line := range strings.Split(strings.TrimSpace(a.Description), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	// Idempotence matters for what mutates: a read-only action is always
	// safe to run again.
	flags := []string{"read-only"}
	switch {
	case a.Mutates && a.Idempotent:
		flags = []string{"mutates", "idempotent"}
	case a.Mutates:
		flags = []string{"mutates", "not idempotent"}
	}
	if len(a.Sensitive) > 0 {
		flags = append(flags, "sensitive outputs: "+strings.Join(a.Sensitive, ", "))
	}
	fmt.Fprintf(w, "  %s\n", strings.Join(flags, ", "))
	fmt.Fprintln(w, "  input:")
	printFields(w, a.Input, "    ")
	if a.Output != nil {
		fmt.Fprintln(w, "  output:")
		printFields(w, a.Output, "    ")
	}
}

// printFields prints the fields of an object schema, one a line: name,
// type and constraints, description. Nested objects' fields are named
// parent.child, those of a list's items parent[].child.
func printFields(w io.Writer, s *schema.DataSchema, indent string) {
	var rows [][3]string
	fieldRows(s, "", &rows)
	if len(rows) == 0 {
		switch {
		case s == nil || len(s.Type) == 0:
			fmt.Fprintf(w, "%sanything\n", indent)
		case s.AdditionalProperties != nil:
			fmt.Fprintf(w, "%sany keys: %s\n", indent, fieldType(s.AdditionalProperties, false))
		default:
			fmt.Fprintf(w, "%snone\n", indent)
		}
		return
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\n", indent, r[0], r[1], r[2])
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			fmt.Fprintln(w, strings.TrimRight(line, " \n"))
		}
	}
}

func fieldRows(s *schema.DataSchema, prefix string, rows *[][3]string) {
	if s == nil {
		return
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for _, n := range names {
		p := s.Properties[n]
		*rows = append(*rows, [3]string{prefix + n, fieldType(p, required[n]), oneLine(p.Description)})
		switch {
		case len(p.Properties) > 0:
			fieldRows(p, prefix+n+".", rows)
		case p.Items != nil && len(p.Items.Properties) > 0:
			fieldRows(p.Items, prefix+n+"[].", rows)
		}
	}
}

// fieldType renders a field's type and constraints: "string, required,
// one of a, b, default a".
func fieldType(p *schema.DataSchema, required bool) string {
	typ := "any"
	if len(p.Type) > 0 {
		typ = strings.Join(p.Type, " or ")
	}
	if p.Items != nil && len(p.Items.Properties) == 0 {
		typ += " of " + fieldType(p.Items, false)
	}
	if p.AdditionalProperties != nil {
		typ += " of " + fieldType(p.AdditionalProperties, false)
	}
	parts := []string{typ}
	if required {
		parts = append(parts, "required")
	}
	if p.Format != "" {
		parts = append(parts, p.Format)
	}
	if len(p.Enum) > 0 {
		vals := make([]string, len(p.Enum))
		for i, v := range p.Enum {
			vals[i] = literal(v)
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	switch {
	case p.Minimum != nil && p.Maximum != nil:
		parts = append(parts, num(*p.Minimum)+".."+num(*p.Maximum))
	case p.Minimum != nil:
		parts = append(parts, "at least "+num(*p.Minimum))
	case p.Maximum != nil:
		parts = append(parts, "at most "+num(*p.Maximum))
	}
	if p.Pattern != "" {
		parts = append(parts, "matching "+p.Pattern)
	}
	if p.Default != nil {
		parts = append(parts, "default "+literal(p.Default))
	}
	if p.Sensitive {
		parts = append(parts, "sensitive")
	}
	return strings.Join(parts, ", ")
}

// literal renders a value as in YAML flow style: strings bare unless they
// need quotes.
func literal(v any) string {
	if s, ok := v.(string); ok {
		if s == "" || strings.ContainsAny(s, ",:{}[]#'\" ") {
			return strconv.Quote(s)
		}
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// oneLine joins the lines of a description.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
