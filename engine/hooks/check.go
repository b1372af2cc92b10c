package hooks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// Check checks the webhooks of cfg against their runbooks, found with
// resolve: each runbook exists and loads, takes every input the webhook
// maps, and gets every input it requires (without a default). Problems
// are diagnostics of steward.yaml, at the webhook's line and column;
// steward serve refuses to start with any.
func Check(cfg *config.Config, resolve func(name string) (*runbooks.Document, error)) schema.Diagnostics {
	var diags schema.Diagnostics
	for _, w := range cfg.Webhooks {
		for _, rb := range []struct {
			name, key string
			pos       schema.Pos
		}{{w.Runbook, "runbook", w.RunbookPos}, {w.ResolvedRunbook, "resolved_runbook", w.ResolvedPos}} {
			if rb.name != "" {
				diags = append(diags, checkRunbook(cfg, &w, rb.name, w.Path+"."+rb.key, rb.pos, resolve)...)
			}
		}
	}
	diags.Sort()
	return diags
}

func checkRunbook(cfg *config.Config, w *config.Webhook, name, path string, at schema.Pos, resolve func(string) (*runbooks.Document, error)) schema.Diagnostics {
	doc, err := resolve(name)
	if err != nil {
		return schema.Diagnostics{cfg.Diag(at, path, "steward runbooks lists the runbooks found", "webhook %s: %v", w.Name, err)}
	}
	rb, loadDiags := schema.Load(doc.File, doc.Src)
	if rb == nil || len(loadDiags.Errors()) > 0 {
		return schema.Diagnostics{cfg.Diag(at, path, "steward validate "+doc.File+" says why", "webhook %s: runbook %s does not load", w.Name, name)}
	}
	declared := map[string]*schema.Input{}
	var names []string
	for _, in := range rb.Inputs {
		declared[in.Name], names = in, append(names, in.Name)
	}
	var diags schema.Diagnostics
	for _, in := range w.InputNames() {
		if declared[in] == nil {
			hint := ""
			if s := schema.Suggest(in, names); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			} else if len(names) > 0 {
				hint = "its inputs: " + strings.Join(names, ", ")
			}
			diags = append(diags, cfg.Diag(w.InputPos[in], w.Path+".inputs."+in, hint, "webhook %s: runbook %s has no input %q", w.Name, name, in))
		}
	}
	var missing []string
	for _, in := range rb.Inputs {
		if in.Required && !in.HasDefault && w.Inputs[in.Name] == nil {
			missing = append(missing, in.Name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		diags = append(diags, cfg.Diag(w.Pos, w.Path+".inputs", "map them from the payload: inputs: {"+missing[0]+": '${{ payload... }}'}",
			"webhook %s: runbook %s requires input %s, which the webhook does not map", w.Name, name, strings.Join(missing, ", ")))
	}
	return diags
}
