package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/schema/dataschema"
)

// TestDocs keeps docs/plugins-notify.md in step with the plugin: every
// setting, every action with its inputs and outputs, every error code.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/plugins-notify.md")
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
		if len(s.Properties) == 0 {
			if !strings.Contains(doc, "| `"+name+"` |") {
				t.Errorf("the settings table has no row for %s", name)
			}
		}
		for sub := range s.Properties {
			if !strings.Contains(doc, "| `"+name+"."+sub+"` |") {
				t.Errorf("the settings table has no row for %s.%s", name, sub)
			}
		}
	}
	for _, a := range d.Actions {
		if !strings.Contains(doc, "\n### "+a.Name+"\n") {
			t.Errorf("no section for %s", a.Name)
			continue
		}
		section := doc[strings.Index(doc, "\n### "+a.Name+"\n"):]
		if i := strings.Index(section[1:], "\n## "); i > 0 {
			section = section[:i]
		}
		for _, s := range []*dataschema.Schema{a.Input, a.Output} {
			for field := range s.Properties {
				if !strings.Contains(section, "| `"+field+"` |") {
					t.Errorf("the section of %s has no row for %s", a.Name, field)
				}
			}
		}
	}
	for _, code := range []string{"invalid_input", codeAuthFailed, codeSTARTTLSRequired, codeTLS, codeConnection, codeRejected, codeTemporary, codeNotFound, "timeout"} {
		if !strings.Contains(doc, "| `"+code+"` |") {
			t.Errorf("the errors table has no row for %s", code)
		}
	}
}
