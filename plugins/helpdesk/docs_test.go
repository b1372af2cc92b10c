package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/schema/dataschema"
)

// TestDocs keeps docs/plugins-helpdesk.md in step with the plugin: every
// setting, every action with its inputs and outputs, every error code,
// every sandbox ticket.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/plugins-helpdesk.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	p := start(t, nil)
	d := p.Describe()
	var config dataschema.Schema
	if err := json.Unmarshal(d.Config, &config); err != nil {
		t.Fatal(err)
	}
	for name, s := range config.Properties {
		if len(s.Properties) == 0 && !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("the settings table has no row for %s", name)
		}
		for sub := range s.Properties {
			if !strings.Contains(doc, "| `"+name+"."+sub+"` |") {
				t.Errorf("the settings table has no row for %s.%s", name, sub)
			}
		}
	}
	for _, a := range d.Actions {
		name := strings.TrimPrefix(a.Name, "helpdesk.")
		head := "\n### " + a.Name + "\n"
		if !strings.Contains(doc, head) {
			t.Errorf("no section for %s", name)
			continue
		}
		section := doc[strings.Index(doc, head)+1:]
		if i := strings.Index(section, "\n## "); i > 0 {
			section = section[:i]
		}
		if i := strings.Index(section[4:], "\n### "); i > 0 {
			section = section[:i+4]
		}
		for _, s := range []*dataschema.Schema{a.Input, a.Output} {
			for field := range s.Properties {
				if !strings.Contains(section, "| `"+field+"` |") {
					t.Errorf("the section of %s has no row for %s", name, field)
				}
			}
		}
	}
	for _, code := range []string{"invalid_input", "not_found", "auth_failed", "invalid_request", "rate_limited", "conflict", "provider_unavailable", "timeout", "bad_response"} {
		if !strings.Contains(doc, "| `"+code+"` |") {
			t.Errorf("the errors table has no row for %s", code)
		}
	}
	for id := range sandboxTickets() {
		if !strings.Contains(doc, "| "+itoa(id)+" |") {
			t.Errorf("the sandbox table has no row for ticket %d", id)
		}
	}
}
