package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/plugins"
)

// pluginPlaces are where plugins are looked for and pinned: steward.yaml's
// plugins section, or the defaults (see defaultPluginFolders). steward
// plugins install puts a plugin in the first folder.
type pluginPlaces struct {
	folders []string
	lock    string
}

func (g *globalFlags) pluginPlaces(cfg *config.Config) pluginPlaces {
	p := pluginPlaces{folders: cfg.Plugins.Folders, lock: cfg.Plugins.Lock}
	if p.folders == nil {
		p.folders = defaultPluginFolders(g.home)
	}
	if p.lock == "" {
		p.lock = filepath.Join(g.home, "plugins.lock")
	}
	return p
}

// defaultPluginFolders are, in order: HOME/plugins (where steward plugins
// install puts plugins), the folder of the steward binary (symbolic links
// followed: a release unpacked with its plugins, or go install's bin), and
// ./bin of the current folder (make build in a checkout). A folder named
// twice is kept at its first place; the binary's folder is spelled bin
// when it is ./bin.
func defaultPluginFolders(home string) []string {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	folders := []string{filepath.Join(home, "plugins")}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		if abs(dir) == abs("bin") {
			dir = "bin"
		}
		folders = append(folders, dir)
	}
	folders = append(folders, "bin")
	out := folders[:0]
	seen := map[string]bool{}
	for _, f := range folders {
		if a := abs(f); !seen[a] {
			seen[a] = true
			out = append(out, f)
		}
	}
	return out
}

// installHint says how to install a plugin that is not installed: by
// name for a bundled one, by path otherwise.
func installHint(plugin string) string {
	if slices.Contains(bundledPlugins, plugin) {
		return fmt.Sprintf("steward plugins install %s builds and pins this bundled plugin", plugin)
	}
	return fmt.Sprintf("steward plugins install PATH installs and pins a built %s%s", plugins.Prefix, plugin)
}

// openPlugins returns the plugin host of a command, from steward.yaml,
// --home and --allow-unpinned; with reg, it adds the host to it, so that
// plugin actions load on first use. set is the run's redact set, or nil
// outside a run: every secret a plugin's settings name joins it, so that
// a plugin echoing its API key is masked in the run's logs and record;
// the lines a plugin writes on stderr outside calls are printed on
// steward's stderr as "plugin NAME: LINE", redacted with it. The caller
// closes the host when the command ends, so that no plugin process
// outlives steward. adjust, when given, changes the options last (steward
// serve: backoff, logs, metrics).
func openPlugins(cmd *cobra.Command, g *globalFlags, cfg *config.Config, reg *actions.Registry, set *redact.Set, adjust ...func(*plugins.Options)) (*plugins.Host, error) {
	if set == nil {
		set = &redact.Set{}
	}
	places := g.pluginPlaces(cfg)
	opts := plugins.Options{
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
		InstallHint:  installHint,
	}
	for _, a := range adjust {
		a(&opts)
	}
	host, err := plugins.New(opts)
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
		fmt.Fprintf(w, "plugin %s: %s\n", printable.Line(plugin), printable.Line(set.String(line)))
	}
}

// folderList names plugin folders for a message.
func folderList(folders []string) string {
	if len(folders) == 0 {
		return "no plugin folder (plugins.folders in steward.yaml is empty)"
	}
	return strings.Join(folders, ", ")
}
