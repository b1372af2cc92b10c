package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/plugins"
)

// pluginPlaces are where plugins are looked for and pinned: steward.yaml's
// plugins section, or the defaults under --home.
type pluginPlaces struct {
	folders []string
	lock    string
}

func (g *globalFlags) pluginPlaces(cfg *config.Config) pluginPlaces {
	p := pluginPlaces{folders: cfg.Plugins.Folders, lock: cfg.Plugins.Lock}
	if p.folders == nil {
		p.folders = []string{filepath.Join(g.home, "plugins"), "bin"}
	}
	if p.lock == "" {
		p.lock = filepath.Join(g.home, "plugins.lock")
	}
	return p
}

// openPlugins returns the plugin host of a command, from steward.yaml,
// --home and --allow-unpinned; with reg, it adds the host to it, so that
// plugin actions load on first use. set is the run's redact set, or nil
// outside a run: every secret a plugin's settings name joins it, so that
// a plugin echoing its API key is masked in the run's logs and record;
// the lines a plugin writes on stderr outside calls are printed on
// steward's stderr as "plugin NAME: LINE", redacted with it. The caller
// closes the host when the command ends, so that no plugin process
// outlives steward.
func openPlugins(cmd *cobra.Command, g *globalFlags, cfg *config.Config, reg *actions.Registry, set *redact.Set) (*plugins.Host, error) {
	if set == nil {
		set = &redact.Set{}
	}
	places := g.pluginPlaces(cfg)
	host, err := plugins.New(plugins.Options{
		Folders:       places.folders,
		LockFile:      places.lock,
		AllowUnpinned: g.allowUnpinned,
		Settings:      cfg.Plugins.Settings,
		Secret: func(name string) (string, bool) {
			v, ok := envSecret(name)
			if ok {
				set.Add(v)
			}
			return v, ok
		},
		CacheDir:     filepath.Join(g.home, "cache", "plugins"),
		StartTimeout: cfg.Plugins.StartTimeout,
		Stderr:       pluginStderr(cmd.ErrOrStderr(), set),
	})
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: err}
	}
	if reg != nil {
		reg.AddSource(host)
	}
	return host, nil
}

// pluginStderr prints a line a plugin wrote on stderr outside a call as
// "plugin NAME: LINE", redacted with set, one line at a time: plugins
// write at once. Never on stdout, which -o json keeps for its document.
func pluginStderr(w io.Writer, set *redact.Set) func(plugin, line string) {
	var mu sync.Mutex
	return func(plugin, line string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "plugin %s: %s\n", plugin, set.String(line))
	}
}

// folderList names plugin folders for a message.
func folderList(folders []string) string {
	if len(folders) == 0 {
		return "no plugin folder (plugins.folders in steward.yaml is empty)"
	}
	return strings.Join(folders, ", ")
}
