package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/plugins"
	"github.com/stewardhq/steward/schema"
)

// checkSettings checks plugins.settings of steward.yaml against the
// settings schema each installed plugin declares; the settings of a plugin
// that is not installed are a warning (they cannot be checked here), as a
// step of one is.
func checkSettings(cmd *cobra.Command, cfg *config.Config, host *plugins.Host) schema.Diagnostics {
	var diags schema.Diagnostics
	installed := host.Plugins()
	for _, name := range cfg.SettingsPlugins() {
		if !slices.Contains(installed, name) {
			d := cfg.SettingsDiag(name, suggestPlugin(name, installed), "plugin %q is not installed: its settings are not checked", name)
			d.Severity = schema.SeverityWarning
			diags = append(diags, d)
			continue
		}
		desc, err := host.Describe(cmd.Context(), name)
		if err != nil {
			diags = append(diags, cfg.SettingsDiag(name, "", "plugin %q cannot be used: %s", name, strings.TrimPrefix(err.Error(), "plugin "+name+": ")))
			continue
		}
		s, err := desc.SettingsSchema()
		if err != nil {
			diags = append(diags, cfg.SettingsDiag(name, "", "plugin %q declares a settings schema steward cannot read: %v", name, err))
			continue
		}
		diags = append(diags, cfg.CheckSettings(name, s)...)
	}
	diags.Sort()
	return diags
}

func suggestPlugin(name string, installed []string) string {
	if s := schema.Suggest(name, installed); s != "" {
		return `did you mean "` + s + `"?`
	}
	return "install steward-plugin-" + name + " in a plugin folder (steward plugins list)"
}
