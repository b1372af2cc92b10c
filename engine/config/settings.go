package config

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/stewardhq/steward/schema"
	"github.com/stewardhq/steward/schema/dataschema"
	"gopkg.in/yaml.v3"
)

// SettingsPlugins lists the plugins plugins.settings configures, sorted.
func (c *Config) SettingsPlugins() []string { return sortedKeys(c.settingsKeys) }

// SettingsDiag returns a diagnostic at the key plugins.settings.NAME, for
// what is said of the plugin as a whole (not installed, cannot be used).
func (c *Config) SettingsDiag(plugin, hint, format string, args ...any) schema.Diagnostic {
	n := c.settingsKeys[plugin]
	if n == nil {
		return schema.Diagnostic{File: c.File, Path: "plugins.settings." + plugin, Message: fmt.Sprintf(format, args...), Hint: hint}
	}
	return diag(c.File, c.lines, n, "plugins.settings."+plugin, hint, fmt.Sprintf(format, args...))
}

// CheckSettings checks plugins.settings.NAME against the settings schema
// the plugin declares (nil: it takes none), at the line and column of each
// value: unknown keys (with a did-you-mean), types, enums, patterns,
// bounds, durations and required keys. A {secret: NAME} reference is a
// string. Nothing is checked for a plugin steward.yaml gives no settings.
func (c *Config) CheckSettings(plugin string, s *dataschema.Schema) schema.Diagnostics {
	n := c.settings[plugin]
	if n == nil {
		return nil
	}
	path := "plugins.settings." + plugin
	if s == nil {
		if len(n.Content) == 0 {
			return nil
		}
		return schema.Diagnostics{c.SettingsDiag(plugin, "remove plugins.settings."+plugin, "plugin %s takes no settings", plugin)}
	}
	ck := &settingsChecker{c: c, plugin: plugin}
	ck.value(n, c.settingsKeys[plugin], s, path)
	ck.diags.Sort()
	return ck.diags
}

type settingsChecker struct {
	c      *Config
	plugin string
	diags  schema.Diagnostics
}

func (ck *settingsChecker) errorf(n *yaml.Node, path, hint, format string, args ...any) {
	ck.diags = append(ck.diags, diag(ck.c.File, ck.c.lines, n, path, hint, fmt.Sprintf(format, args...)))
}

// value checks n against s; key is the node of its key, where a missing
// required field is reported.
func (ck *settingsChecker) value(n, key *yaml.Node, s *dataschema.Schema, path string) {
	n = resolve(n)
	name := path[strings.LastIndex(path, ".")+1:] // timeout, chains[0]
	kind := nodeKind(n)
	if n.Kind == yaml.MappingNode {
		if _, ok := secretRef(n); ok {
			kind = "string" // resolved to the secret's value when the plugin starts
			if len(s.Type) > 0 && !s.Type.Has("string") {
				ck.errorf(n, path, "a secret is text", "%s must be %s, got a secret", name, s.Type.Phrase())
			}
			return
		}
	}
	if len(s.Type) > 0 && !s.Type.Has(kind) {
		hint := ""
		if kind == "string" && quoted(n) && (s.Type.Has("integer") || s.Type.Has("number") || s.Type.Has("boolean")) {
			hint = "remove the quotes"
		}
		ck.errorf(n, path, hint, "%s must be %s, got %s", name, s.Type.Phrase(), dataschema.KindPhrase(kind))
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		ck.mapping(n, key, s, path)
	case yaml.SequenceNode:
		if s.Items != nil {
			for i, c := range n.Content {
				ck.value(c, c, s.Items, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case yaml.ScalarNode:
		var v any
		if n.Decode(&v) != nil {
			return
		}
		if len(s.Enum) > 0 && !s.InEnum(v) {
			hint := ""
			if str, ok := v.(string); ok {
				var names []string
				for _, e := range s.Enum {
					if es, ok := e.(string); ok {
						names = append(names, es)
					}
				}
				hint = didYouMean(str, names)
			}
			ck.errorf(n, path, hint, "%s must be one of %s, got %s", name, dataschema.ShowList(s.Enum), dataschema.Show(v))
		}
		if str, ok := v.(string); ok {
			if s.Format == "duration" {
				if _, err := time.ParseDuration(str); err != nil {
					ck.errorf(n, path, "write a duration such as 30s, 5m or 1h30m", "%s: invalid duration %q", name, str)
				}
			}
			if s.Pattern != "" {
				if re, err := regexp.Compile(s.Pattern); err == nil && !re.MatchString(str) {
					ck.errorf(n, path, "", "%s must match %s, got %q", name, s.Pattern, str)
				}
			}
		}
		if f, ok := number(v); ok {
			if s.Minimum != nil && f < *s.Minimum {
				ck.errorf(n, path, "", "%s must be at least %v, got %v", name, *s.Minimum, f)
			}
			if s.Maximum != nil && f > *s.Maximum {
				ck.errorf(n, path, "", "%s must be at most %v, got %v", name, *s.Maximum, f)
			}
		}
	}
}

func (ck *settingsChecker) mapping(n, key *yaml.Node, s *dataschema.Schema, path string) {
	names := sortedKeys(s.Properties)
	closed := len(s.Properties) > 0 && s.AdditionalProperties == nil
	given := map[string]bool{}
	suggested := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		kp := path + "." + k.Value
		given[k.Value] = true
		if v.ShortTag() == "!!null" && s.Properties[k.Value] != nil && !s.Requires(k.Value) {
			continue // null for an optional setting means not given
		}
		if p := s.Properties[k.Value]; p != nil {
			ck.value(v, k, p, kp)
			continue
		}
		if s.AdditionalProperties != nil {
			ck.value(v, k, s.AdditionalProperties, kp)
			continue
		}
		if closed {
			hint := didYouMean(k.Value, names)
			if best := schema.Suggest(k.Value, names); best != "" {
				suggested[best] = true
			}
			if hint == "" {
				hint = "known: " + strings.Join(names, ", ") + " (steward plugins describe " + ck.plugin + ")"
			}
			ck.errorf(k, kp, hint, "unknown setting %q of plugin %s", k.Value, ck.plugin)
		}
	}
	var missing []string
	for _, r := range s.Required {
		if !given[r] && !suggested[r] {
			missing = append(missing, fmt.Sprintf("%q", r))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		at := key
		if at == nil {
			at = n
		}
		ck.errorf(at, path, "", "missing required setting %s of plugin %s", strings.Join(missing, ", "), ck.plugin)
	}
}

// nodeKind is the JSON kind of a node (see dataschema.Kind).
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!bool":
		return "boolean"
	case "!!int":
		return "integer"
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && f == math.Trunc(f) && !math.IsInf(f, 0) {
			return "integer"
		}
		return "number"
	}
	return "string"
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
