package mcpserver

import (
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/schema"
)

// dryRunArg is the argument every tool has beside the runbook's inputs.
const dryRunArg = "dry_run"

// toolDef is the MCP tool of a runbook: its name, title, description and
// the JSON Schema (2020-12) of its inputs. Secret inputs are left out:
// the server supplies them.
func toolDef(rb *schema.Runbook) *mcp.Tool {
	props := map[string]any{}
	required := []string{}
	var secrets []string
	for _, in := range rb.Inputs {
		if in.Secret {
			secrets = append(secrets, in.Name)
			continue
		}
		props[in.Name] = inputSchema(in)
		if in.Required && !in.HasDefault {
			required = append(required, in.Name)
		}
	}
	props[dryRunArg] = map[string]any{
		"type":    "boolean",
		"default": false,
		"description": "Run read-only actions only and report what the others would do, with the values they would get; " +
			"nothing is changed. The run is recorded as a dry run.",
	}
	in := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		in["required"] = required
	}
	return &mcp.Tool{
		Name:        rb.Name,
		Title:       rb.Title,
		Description: description(rb, secrets),
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{Title: rb.Title, OpenWorldHint: new(true)},
	}
}

// description is the runbook's title and description, and what the
// server supplies.
func description(rb *schema.Runbook, secrets []string) string {
	var parts []string
	if rb.Title != "" {
		parts = append(parts, rb.Title)
	}
	if d := strings.TrimSpace(rb.Description); d != "" {
		parts = append(parts, d)
	}
	if len(secrets) > 0 {
		parts = append(parts, "Secret inputs ("+strings.Join(secrets, ", ")+") are supplied by the Steward server, never by you.")
	}
	parts = append(parts, "Runs the Steward runbook "+rb.Name+"; the run is recorded in Steward's journal. "+
		"Steps that need an approval wait for a person.")
	return strings.Join(parts, "\n\n")
}

// inputSchema is the JSON Schema of one input.
func inputSchema(in *schema.Input) map[string]any {
	typ := in.Type
	if typ == "" {
		typ = schema.TypeString
	}
	s := map[string]any{"type": string(typ)}
	if in.Description != "" {
		s["description"] = in.Description
	}
	if len(in.Enum) > 0 {
		s["enum"] = in.Enum
	}
	if in.Pattern != nil {
		s["pattern"] = in.Pattern.String()
	}
	if in.Min != nil {
		s["minimum"] = *in.Min
	}
	if in.Max != nil {
		s["maximum"] = *in.Max
	}
	if in.HasDefault {
		s["default"] = in.Default
	}
	return s
}
