package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
)

// pageNames are the pages, each templates/NAME.html with the layout.
var pageNames = []string{"error", "runbooks", "runbook", "runs", "run", "approvals", "schedules", "audit", "plugins"}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"short":    func(s string) string { return shortHash(s) },
	"join":     strings.Join,
	"contains": contains,
	"duration": func(a, b time.Time) string {
		if a.IsZero() || b.IsZero() {
			return ""
		}
		return b.Sub(a).Round(time.Millisecond).String()
	},
	"str": func(v any) string { return fmt.Sprint(v) },
	"dur": func(d engine.Duration) string { return time.Duration(d).Round(time.Millisecond).String() },
}

// parsePages parses every page with the layout.
func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func shortHash(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
