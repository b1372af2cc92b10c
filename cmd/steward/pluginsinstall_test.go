package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins"
)

// binRun runs the steward binary at bin in dir with a home, as homeRun
// runs the one of TestMain.
func binRun(t *testing.T, bin, dir, home string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--home", home}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return result{out.String(), errb.String(), code}
}

// copyExecutable copies a built binary to path, executable.
func copyExecutable(t *testing.T, from, path string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

const stuckArgs = "run stuck-transaction --input chain=ethereum --input tx_hash=0x9a909a909a909a909a909a909a909a909a909a909a909a909a909a909a909a90 --input customer=Ana"

// TestPluginsBesideBinary: run from any folder, a bundled runbook whose
// plugin is nowhere fails with a hint that names the folders searched;
// plugins beside the steward binary (reached through a symbolic link
// too) are found, pinned and run.
func TestPluginsBesideBinary(t *testing.T) {
	release := t.TempDir() // an unpacked release: steward and its plugins
	bin := filepath.Join(release, "steward")
	copyExecutable(t, steward, bin)
	elsewhere, home := t.TempDir(), t.TempDir()

	r := binRun(t, bin, elsewhere, home, nil, strings.Fields(stuckArgs)...)
	wantCode(t, r, exitInvalid, "run without the plugin")
	hint := "  hint: no steward-plugin-evm in the plugin folders (" + filepath.Join(home, "plugins") + ", " + release +
		", bin); steward plugins install evm builds and pins this bundled plugin\n"
	if !strings.Contains(r.stdout+r.stderr, hint) {
		t.Fatalf("the hint does not name the folders searched:\n%s%s\nwant:\n%s", r.stdout, r.stderr, hint)
	}

	copyExecutable(t, pluginBins["evm"], filepath.Join(release, "steward-plugin-evm"))
	r = binRun(t, bin, elsewhere, home, nil, "plugins", "lock")
	wantCode(t, r, exitOK, "plugins lock")
	if !strings.HasPrefix(r.stdout, "+ evm 1.0.0 sha256:") {
		t.Fatalf("plugins lock did not pin the plugin beside steward:\n%s%s", r.stdout, r.stderr)
	}
	// Through a symbolic link, as from a folder on PATH.
	link := filepath.Join(t.TempDir(), "steward")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	r = binRun(t, link, elsewhere, home, nil, "plugins", "list")
	wantCode(t, r, exitOK, "plugins list")
	if want := "evm   1.0.0    1         pinned  5        " + filepath.Join(release, "steward-plugin-evm") + "\n"; !strings.HasSuffix(r.stdout, want) {
		t.Fatalf("plugins list:\n%s\nwant a line\n%s", r.stdout, want)
	}
	r = binRun(t, link, elsewhere, home, nil, strings.Fields(stuckArgs)...)
	wantCode(t, r, exitOK, "run with the plugin beside steward")
	if !strings.Contains(r.stdout, "advice: fill_nonce_gap") {
		t.Fatalf("run:\n%s", r.stdout)
	}
}

// TestPluginsBesideBinaryIsBin: in a checkout after make build, the
// folder of ./bin/steward is ./bin, named once.
func TestPluginsBesideBinaryIsBin(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	copyExecutable(t, steward, filepath.Join(dir, "bin", "steward"))
	r := binRun(t, filepath.Join(dir, "bin", "steward"), dir, home, nil, "plugins", "list")
	wantPrinted(t, r, home, exitOK, "", "no plugins in HOME/plugins, bin (a plugin is an executable named steward-plugin-NAME)\n")
}

// TestPluginsInstallPath: a built binary is copied into HOME/plugins and
// pinned, other pins kept; steward then runs it from any folder. The same
// bytes again change nothing; a binary that is not the plugin it is
// named for is refused and leaves the installed one and the lock file
// as they were.
func TestPluginsInstallPath(t *testing.T) {
	elsewhere, home := t.TempDir(), t.TempDir()
	lock := filepath.Join(home, "plugins.lock")
	other := "payments 1.0.0 sha256:" + strings.Repeat("a", 64) + "\n"
	writeFile(t, lock, other)

	r := homeRun(t, elsewhere, home, nil, "plugins", "install", pluginBins["example"])
	sum := fileSHA256(t, pluginBins["example"])
	wantPrinted(t, r, home, exitOK, "+ example 1.0.0 sha256:"+sum[:12]+"\n",
		"installed HOME/plugins/steward-plugin-example, pinned in HOME/plugins.lock\n")
	if got := fileSHA256(t, filepath.Join(home, "plugins", "steward-plugin-example")); got != sum {
		t.Fatalf("installed binary sha256 %s, want %s", got, sum)
	}
	b, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nexample 1.0.0 sha256:"+sum+"\n") || !strings.Contains(string(b), "\n"+other) {
		t.Fatalf("lock file:\n%s", b)
	}
	rb, err := os.ReadFile("../../plugins/example/runbooks/tx-check.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(elsewhere, "tx-check.yaml"), string(rb))
	r = homeRun(t, elsewhere, home, nil, "run", "tx-check.yaml", "--input", "chain=ethereum",
		"--input", "tx=0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060")
	wantCode(t, r, exitOK, "run tx-check")

	wantPrinted(t, homeRun(t, elsewhere, home, nil, "plugins", "install", pluginBins["example"]), home, exitOK,
		"= example 1.0.0 sha256:"+sum[:12]+"\n", "installed HOME/plugins/steward-plugin-example, pinned in HOME/plugins.lock\n")

	// The echo plugin under another name: it says it is echo, refused.
	r = homeRun(t, elsewhere, home, nil, "plugins", "install", "--name", "example", pluginBins["echo"])
	wantCode(t, r, exitFailed, "install a plugin under another name")
	if !strings.Contains(r.stderr, `describes itself as plugin "echo": refused`) || !strings.HasSuffix(r.stderr, "; steward-plugin-example was not installed\n") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
	if got := fileSHA256(t, filepath.Join(home, "plugins", "steward-plugin-example")); got != sum {
		t.Fatal("a refused install replaced the installed plugin")
	}
	if after, _ := os.ReadFile(lock); !bytes.Equal(after, b) {
		t.Fatalf("a refused install changed the lock file:\n%s", after)
	}
	entries, _ := os.ReadDir(filepath.Join(home, "plugins"))
	if len(entries) != 1 {
		t.Fatalf("left in the plugin folder: %v", entries)
	}
	wantCode(t, homeRun(t, elsewhere, home, nil, "run", "tx-check.yaml", "--input", "chain=ethereum",
		"--input", "tx=0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"), exitOK, "run after a refused install")

	// Another build of the plugin (not stripped) replaces it: updated,
	// here as -o json.
	rebuilt := filepath.Join(t.TempDir(), "steward-plugin-example")
	if out, err := exec.Command("go", "build", "-o", rebuilt, "../../plugins/example").CombinedOutput(); err != nil {
		t.Fatalf("building the example plugin: %v\n%s", err, out)
	}
	newSum := fileSHA256(t, rebuilt)
	r = homeRun(t, elsewhere, home, nil, "plugins", "install", "-o", "json", rebuilt)
	wantCode(t, r, exitOK, "install another build")
	var doc struct {
		Path     string             `json:"path"`
		LockFile string             `json:"lock_file"`
		Change   plugins.LockChange `json:"change"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.stdout)
	}
	want := plugins.LockChange{Name: "example", Change: "updated", Version: "1.0.0", OldVersion: "1.0.0", SHA256: newSum, OldSHA256: sum}
	if doc.Path != filepath.Join(home, "plugins", "steward-plugin-example") || doc.LockFile != lock || doc.Change != want {
		t.Fatalf("-o json: %+v", doc)
	}
	if got := fileSHA256(t, filepath.Join(home, "plugins", "steward-plugin-example")); got != newSum {
		t.Fatal("the new build was not installed")
	}

	// With --name, a binary named otherwise.
	plain := filepath.Join(t.TempDir(), "echo")
	copyExecutable(t, pluginBins["echo"], plain)
	r = homeRun(t, elsewhere, home, nil, "plugins", "install", plain)
	wantPrinted(t, r, home, exitInvalid, "", "steward: echo is not named steward-plugin-NAME: give the plugin's name with --name\n")
	r = homeRun(t, elsewhere, home, nil, "plugins", "install", "--name", "echo", plain)
	wantCode(t, r, exitOK, "install --name echo")
	wantPrinted(t, homeRun(t, elsewhere, home, nil, "plugins", "install", "--name", "Echo!", plain), home, exitInvalid, "",
		"steward: \"Echo!\" is not a valid plugin name (lower-case letters, digits and -, starting with a letter)\n")
}

// TestPluginsInstallBundled: by name, a bundled plugin is built from the
// checkout around the current folder (go build) and pinned; a name that
// is not bundled is bad usage with a did-you-mean; outside a checkout, a
// development build says what to do instead.
func TestPluginsInstallBundled(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	r := homeRun(t, filepath.Join(root, "docs"), home, nil, "plugins", "install", "example")
	wantCode(t, r, exitOK, "plugins install example")
	if want := "building steward-plugin-example in " + root + ": go build -trimpath -ldflags='-s -w' ./plugins/example\n"; !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("stderr:\n%s\nwant first:\n%s", r.stderr, want)
	}
	if !strings.HasPrefix(r.stdout, "+ example 1.0.0 sha256:") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	r = homeRun(t, t.TempDir(), home, nil, "plugins", "describe", "example")
	wantCode(t, r, exitOK, "describe the installed plugin")

	wantPrinted(t, homeRun(t, root, home, nil, "plugins", "install", "exampel"), home, exitInvalid, "",
		"steward: no bundled plugin \"exampel\": did you mean \"example\"? (bundled: access, evm, example, helpdesk, notify, observability, payments; to install another plugin, give the path of its binary)\n")

	r = homeRun(t, t.TempDir(), home, nil, "plugins", "install", "evm")
	wantCode(t, r, exitFailed, "install by name outside a checkout")
	if !strings.Contains(r.stderr, "is a development build") || !strings.Contains(r.stderr, "inside the checkout it was built from, or give the path of a built steward-plugin-evm") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
}

// TestPluginsInstallRelease: a steward built at a module version (as go
// install github.com/stewardhq/steward/cmd/steward@VERSION builds it)
// installs a bundled plugin, outside any checkout, with go install at
// that version. The module at v0.1.0 is this tree, served by a module
// proxy in a folder; the other modules come from the module cache
// (verified when they were first downloaded: no checksum database here).
func TestPluginsInstallRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin from a module proxy")
	}
	const v = "v0.1.0"
	dir := t.TempDir()
	bin := filepath.Join(dir, "release", "steward")
	build := exec.Command("go", "build", "-ldflags=-X main.version="+v, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building steward %s: %v\n%s", v, err, out)
	}
	proxy := filepath.Join(dir, "proxy")
	moduleProxy(t, proxy, v)
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	env := []string{
		"GOPROXY=file://" + proxy + ",file://" + cache, "GOSUMDB=off", "GOMODCACHE=" + filepath.Join(dir, "modcache"),
		"GOFLAGS=-modcacherw", "GOTOOLCHAIN=local",
	}
	home := t.TempDir()
	r := binRun(t, bin, t.TempDir(), home, env, "plugins", "install", "example")
	wantCode(t, r, exitOK, "plugins install example at "+v)
	if want := "building steward-plugin-example: go install -trimpath -ldflags='-s -w' " + modulePath + "/plugins/example@" + v + "\n"; !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("stderr:\n%s\nwant first:\n%s", r.stderr, want)
	}
	if !strings.HasPrefix(r.stdout, "+ example 1.0.0 sha256:") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	wantCode(t, binRun(t, bin, t.TempDir(), home, nil, "plugins", "describe", "example"), exitOK, "describe")
}

// moduleProxy writes a module proxy folder (GOPROXY=file://DIR) serving
// this tree as Steward's module at version v: its tracked and untracked
// files, as git lists them, without ./bin.
func moduleProxy(t *testing.T, dir, v string) {
	t.Helper()
	files, err := exec.Command("git", "-C", "../..", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	at := filepath.Join(dir, filepath.FromSlash(modulePath), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, name := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		path := filepath.Join("../..", filepath.FromSlash(name))
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() || strings.HasPrefix(name, "bin/") {
			continue // deleted in the working tree, a link, a build output
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(modulePath + "@" + v + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"list": []byte(v + "\n"), v + ".info": []byte(`{"Version":"` + v + `","Time":"2026-01-01T00:00:00Z"}`),
		v + ".mod": mod, v + ".zip": zb.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(at, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBundledPluginsList: the names steward plugins install builds
// outside a checkout are the plugins of this tree.
func TestBundledPluginsList(t *testing.T) {
	mains, err := filepath.Glob("../../plugins/*/main.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	if !slices.Equal(names, bundledPlugins) {
		t.Fatalf("plugins/*/main.go: %v; bundledPlugins: %v", names, bundledPlugins)
	}
}
