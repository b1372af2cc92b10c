package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/schema/dataschema"
)

// TestDocs keeps docs/plugins-observability.md in step with the plugin:
// every setting, every action with its inputs and outputs, every error
// code.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/plugins-observability.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	d := start(t, nil, time.Time{}).Describe()
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
		head := "\n### " + a.Name + "\n"
		i := strings.Index(doc, head)
		if i < 0 {
			t.Errorf("no section for %s", a.Name)
			continue
		}
		section := doc[i+len(head):]
		if j := strings.Index(section, "\n#"); j > 0 {
			section = section[:j]
		}
		for _, s := range []*dataschema.Schema{a.Input, a.Output} {
			for field := range s.Properties {
				if !strings.Contains(section, "| `"+field+"` |") && !strings.Contains(section, "`"+field+"`,") && !strings.Contains(section, ", `"+field+"` |") {
					t.Errorf("the section of %s has no row for %s", a.Name, field)
				}
			}
		}
	}
	for _, code := range []string{"invalid_input", "not_configured", codeInvalidQuery, codeAuthFailed, codeRateLimited, codeUnavailable, "timeout", codeBadResponse} {
		if !strings.Contains(doc, "| `"+code+"` |") {
			t.Errorf("the errors table has no row for %s", code)
		}
	}
}
