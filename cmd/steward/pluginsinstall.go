package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/plugins"
	"github.com/stewardhq/steward/plugins/protocol"
	"github.com/stewardhq/steward/schema"
)

// modulePath is Steward's Go module: the bundled plugins are its
// plugins/NAME packages.
const modulePath = "github.com/stewardhq/steward"

// bundledPlugins are the plugins of this repository (plugins/NAME), which
// steward plugins install builds by name.
var bundledPlugins = []string{"access", "evm", "example", "helpdesk", "notify", "observability", "payments"}

func newPluginsInstallCmd(g *globalFlags) *cobra.Command {
	var name, output string
	cmd := &cobra.Command{
		Use:   "install PATH|NAME",
		Short: "Install a plugin binary, or build a bundled plugin, and pin it",
		Long: `Copy a plugin binary into the plugin folder and pin its SHA-256 in the lock
file, so that steward finds it from any folder.

The plugin folder is the first of steward.yaml's plugins.folders, by
default $STEWARD_HOME/plugins (see --home). The lock file is
plugins.lock in steward.yaml, by default $STEWARD_HOME/plugins.lock; only
this plugin's line changes.

PATH (an argument with a / in it, or a file that exists) is a built
plugin binary. Its name is NAME in its file name steward-plugin-NAME, or
--name. It is copied, not moved, and made executable.

NAME is one of the bundled plugins (access, evm, example, helpdesk,
notify, observability, payments), built with the Go toolchain (go on PATH):
  - inside a checkout of Steward's source (the current folder or one
    above it holds its go.mod), from that checkout:
    go build -trimpath -ldflags='-s -w' ./plugins/NAME, as make build does;
  - elsewhere, from the module version this steward was built from
    (steward version; go install ` + modulePath + `/cmd/steward@VERSION
    records it): go install ` + modulePath + `/plugins/NAME@VERSION,
    through your GOPROXY. A development build has no such version: run it
    in the checkout, or give the path of a built binary.

The binary is started once, to learn its version, before it is pinned;
if it fails to start, the plugin folder and the lock file are left as
they were. Installing over a plugin replaces it (~ in the output, like
steward plugins lock); installing the same bytes again changes nothing (=).

Exit status: 0 installed and pinned, 1 not (the build failed, the binary
did not start, a file could not be written), 2 bad usage (no such bundled
plugin, no plugin name).`,
		Example: `  steward plugins install evm
  steward plugins install ./steward-plugin-tickets
  steward plugins install --name tickets ~/go/bin/tickets`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(output); err != nil {
				return err
			}
			return pluginsInstall(cmd, g, args[0], name, output)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the plugin's name, when the file is not named steward-plugin-NAME")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func pluginsInstall(cmd *cobra.Command, g *globalFlags, arg, name, output string) error {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	places := g.pluginPlaces(cfg)
	if len(places.folders) == 0 {
		return usageError("plugins.folders in steward.yaml is empty: there is no plugin folder to install into")
	}
	src, name, cleanup, err := pluginSource(cmd, arg, name)
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		return err
	}
	dest := filepath.Join(places.folders[0], plugins.Prefix+name)
	restore, err := placePlugin(src, dest)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("installing %s: %w", dest, err)}
	}
	host, err := openPlugins(cmd, g, cfg, nil, nil)
	if err != nil {
		restore(false)
		return err
	}
	change, err := host.Pin(cmd.Context(), name)
	host.Close()
	if err != nil {
		restore(false)
		return &exitError{code: exitFailed, err: fmt.Errorf("%w; %s was not installed", err, plugins.Prefix+name)}
	}
	restore(true)
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), struct {
			Path     string             `json:"path"`
			LockFile string             `json:"lock_file"`
			Change   plugins.LockChange `json:"change"`
		}{dest, places.lock, change})
	}
	printLockChange(cmd.OutOrStdout(), change)
	fmt.Fprintf(cmd.ErrOrStderr(), "installed %s, pinned in %s\n", dest, places.lock)
	return nil
}

// pluginSource returns the binary to install and the plugin's name: arg
// itself when it is a path, or a bundled plugin built into a temporary
// folder that cleanup removes.
func pluginSource(cmd *cobra.Command, arg, name string) (src, plugin string, cleanup func(), err error) {
	if strings.ContainsRune(arg, os.PathSeparator) || strings.ContainsRune(arg, '/') || isFile(arg) {
		fi, err := os.Stat(arg)
		if err != nil {
			return "", "", nil, usageError("%v", err)
		}
		if !fi.Mode().IsRegular() {
			return "", "", nil, usageError("%s is not a file: give the path of a plugin binary", arg)
		}
		if name == "" {
			base := filepath.Base(arg)
			n, ok := strings.CutPrefix(base, plugins.Prefix)
			if !ok {
				return "", "", nil, usageError("%s is not named %sNAME: give the plugin's name with --name", base, plugins.Prefix)
			}
			name = n
		}
		if !protocol.ValidPluginName(name) {
			return "", "", nil, usageError("%q is not a valid plugin name (lower-case letters, digits and -, starting with a letter)", name)
		}
		return arg, name, nil, nil
	}
	if name != "" && name != arg {
		return "", "", nil, usageError("--name is for a binary given by path; a bundled plugin keeps its name %s", arg)
	}
	tmp, err := os.MkdirTemp("", "steward-plugin-build-")
	if err != nil {
		return "", "", nil, &exitError{code: exitFailed, err: err}
	}
	cleanup = func() { os.RemoveAll(tmp) }
	src, err = buildBundled(cmd, arg, tmp)
	return src, arg, cleanup, err
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// buildBundled builds the bundled plugin name into dir: from the checkout
// around the current folder, or else with go install at this steward's
// module version.
func buildBundled(cmd *cobra.Command, name, dir string) (string, error) {
	errw := cmd.ErrOrStderr()
	out := filepath.Join(dir, plugins.Prefix+name)
	root, inTree := sourceTree()
	var available []string
	if inTree {
		mains, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "main.go"))
		for _, m := range mains {
			available = append(available, filepath.Base(filepath.Dir(m)))
		}
		sort.Strings(available)
	} else {
		available = bundledPlugins
	}
	if !slices.Contains(available, name) {
		hint := "bundled: " + strings.Join(available, ", ") + "; to install another plugin, give the path of its binary"
		if s := schema.Suggest(name, available); s != "" {
			hint = fmt.Sprintf("did you mean %q? (%s)", s, hint)
		}
		return "", usageError("no bundled plugin %q: %s", name, hint)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", &exitError{code: exitFailed, err: fmt.Errorf(
			"building the bundled plugin %s needs the Go toolchain, and go is not on PATH: install Go, or give the path of a built %s%s", name, plugins.Prefix, name)}
	}
	var build *exec.Cmd
	if inTree {
		build = exec.CommandContext(cmd.Context(), "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./plugins/"+name)
		build.Dir = root
		fmt.Fprintf(errw, "building %s%s in %s: go build -trimpath -ldflags='-s -w' ./plugins/%s\n", plugins.Prefix, name, root, name)
	} else {
		v := moduleVersion()
		if v == "" {
			return "", &exitError{code: exitFailed, err: fmt.Errorf(
				"this steward is a development build (version %s), so there is no module version to build %s from: run steward plugins install %s inside the checkout it was built from, or give the path of a built %s%s",
				buildVersion(), name, name, plugins.Prefix, name)}
		}
		pkg := modulePath + "/plugins/" + name + "@" + v
		build = exec.CommandContext(cmd.Context(), "go", "install", "-trimpath", "-ldflags=-s -w", pkg)
		build.Env = append(os.Environ(), "GOBIN="+dir)
		out = filepath.Join(dir, name)
		fmt.Fprintf(errw, "building %s%s: go install -trimpath -ldflags='-s -w' %s\n", plugins.Prefix, name, pkg)
	}
	build.Stdout, build.Stderr = errw, errw
	if err := build.Run(); err != nil {
		return "", &exitError{code: exitFailed, err: fmt.Errorf("building %s%s: %w; nothing was installed", plugins.Prefix, name, err)}
	}
	return out, nil
}

// sourceTree finds the checkout of Steward's source around the current
// folder: the nearest folder, here or above, whose go.mod declares
// modulePath.
func sourceTree() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			mod := ""
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					mod = strings.Trim(strings.TrimSpace(m), `"`)
					break
				}
			}
			f.Close()
			// The nearest go.mod decides: a module of its own is not
			// Steward's checkout, even inside one.
			return dir, mod == modulePath
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// moduleVersion is the version of Steward's module this binary was built
// from: set with -ldflags "-X main.version=vX.Y.Z", or recorded by go
// install ...@vX.Y.Z. "" for a development build: one built in a checkout
// (it records the VCS revision instead, see buildVersion) or without a
// version.
func moduleVersion() string {
	v := version
	if v == "" {
		info, ok := debug.ReadBuildInfo()
		if !ok {
			return ""
		}
		for _, s := range info.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				return ""
			}
		}
		v = info.Main.Version
	}
	if !strings.HasPrefix(v, "v") || strings.Contains(v, "+") {
		return ""
	}
	return v
}

// placePlugin puts a copy of src at dest, executable, keeping what was
// there aside; restore(true) drops what was kept, restore(false) puts it
// back (or removes the copy when dest was new).
func placePlugin(src, dest string) (restore func(keep bool), err error) {
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	same := false
	if a, err := filepath.Abs(src); err == nil {
		if b, err := filepath.Abs(dest); err == nil {
			same = a == b
		}
	}
	if same {
		return func(bool) {}, nil // pin what is installed
	}
	in, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	// A name without the prefix is never taken for a plugin.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".new-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	kept := filepath.Join(dir, "."+filepath.Base(dest)+".previous")
	had := false
	if _, err := os.Lstat(dest); err == nil {
		os.Remove(kept)
		if err := os.Rename(dest, kept); err != nil {
			return nil, err
		}
		had = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		if had {
			os.Rename(kept, dest)
		}
		return nil, err
	}
	return func(keep bool) {
		switch {
		case keep:
			os.Remove(kept)
		case had:
			os.Rename(kept, dest)
		default:
			os.Remove(dest)
		}
	}, nil
}
