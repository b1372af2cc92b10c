package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests run steward with real plugin processes: the reference plugin
// (plugins/example) and testdata/echo-plugin, built by TestMain.

// installPlugin copies a test plugin into HOME/plugins, the default plugin
// folder, and returns its path. It is not pinned.
func installPlugin(t testing.TB, home, name string) string {
	t.Helper()
	b, err := os.ReadFile(pluginBins[name])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, "plugins", "steward-plugin-"+name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// pinnedHome returns a home with the named plugins installed and locked.
// pinnedBundled is a home with every bundled plugin (plugins/NAME/main.go,
// what `make build` puts in ./bin) installed and pinned: its plugin folder
// comes before ./bin, so a test of the repository's runbooks does not
// depend on what a developer's ./bin holds. Listing them from the tree
// keeps a new plugin from being missed.
func pinnedBundled(t *testing.T) string {
	t.Helper()
	mains, err := filepath.Glob("../../plugins/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no bundled plugins found: %v", err)
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	return pinnedHome(t, names...)
}

func pinnedHome(t *testing.T, names ...string) string {
	t.Helper()
	home := t.TempDir()
	for _, n := range names {
		installPlugin(t, home, n)
	}
	wantCode(t, homeRun(t, t.TempDir(), home, nil, "plugins", "lock"), exitOK, "plugins lock")
	return home
}

// wantPrinted checks a command's exit status and exactly what it printed,
// with the home shown as HOME and the steward binary's folder as
// STEWARD_DIR.
func wantPrinted(t *testing.T, r result, home string, code int, stdout, stderr string) {
	t.Helper()
	out := strings.ReplaceAll(strings.ReplaceAll(r.stdout, home, "HOME"), filepath.Dir(steward), "STEWARD_DIR")
	errs := strings.ReplaceAll(strings.ReplaceAll(r.stderr, home, "HOME"), filepath.Dir(steward), "STEWARD_DIR")
	if r.code != code || out != stdout || errs != stderr {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", r.code, code, out, stdout, errs, stderr)
	}
}

// TestPluginsListLock: a new plugin is unpinned, not started; plugins lock
// pins it, says what changed and writes the lock file; then list describes
// it; a removed plugin leaves the lock file.
func TestPluginsListLock(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "list"), home, exitOK, "",
		"no plugins in HOME/plugins, STEWARD_DIR, bin (a plugin is an executable named steward-plugin-NAME)\n")
	bin := installPlugin(t, home, "example")
	sum := fileSHA256(t, bin)

	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "list"), home, exitOK,
		"NAME     VERSION  PROTOCOL  LOCK      ACTIONS  PATH\n"+
			"example  -        -         unpinned  -        HOME/plugins/steward-plugin-example\n",
		"not pinned in HOME/plugins.lock, so not started: example; check it, then run steward plugins lock\n")
	// --allow-unpinned starts it to describe it.
	wantPrinted(t, homeRun(t, dir, home, nil, "--allow-unpinned", "plugins", "list"), home, exitOK,
		"NAME     VERSION  PROTOCOL  LOCK      ACTIONS  PATH\n"+
			"example  1.0.0    1         unpinned  4        HOME/plugins/steward-plugin-example\n", "")

	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "lock"), home, exitOK,
		"+ example 1.0.0 sha256:"+sum[:12]+"\n", "wrote HOME/plugins.lock: 1 plugin pinned\n")
	lock, err := os.ReadFile(filepath.Join(home, "plugins.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var pins []string
	for _, line := range strings.Split(strings.TrimSpace(string(lock)), "\n") {
		if !strings.HasPrefix(line, "#") {
			pins = append(pins, line)
		}
	}
	if len(pins) != 1 || pins[0] != "example 1.0.0 sha256:"+sum {
		t.Fatalf("lock file:\n%s", lock)
	}
	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "lock"), home, exitOK,
		"= example 1.0.0 sha256:"+sum[:12]+"\n", "wrote HOME/plugins.lock: 1 plugin pinned\n")

	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "list"), home, exitOK,
		"NAME     VERSION  PROTOCOL  LOCK    ACTIONS  PATH\n"+
			"example  1.0.0    1         pinned  4        HOME/plugins/steward-plugin-example\n", "")
	r := homeRun(t, dir, home, nil, "plugins", "list", "-o", "json")
	wantCode(t, r, exitOK, "plugins list -o json")
	var list []struct {
		Name, Path, SHA256, Lock string
		Description              struct {
			Version string
			Actions []struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(list) != 1 || list[0].Name != "example" || list[0].Path != bin || list[0].SHA256 != sum || list[0].Lock != "pinned" ||
		list[0].Description.Version != "1.0.0" || len(list[0].Description.Actions) != 4 {
		t.Fatalf("plugins list -o json: %+v", list)
	}

	r = homeRun(t, dir, home, nil, "plugins", "lock", "-o", "json")
	var locked struct {
		LockFile string `json:"lock_file"`
		Changes  []struct{ Name, Change, Version, SHA256 string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &locked); err != nil || r.code != 0 {
		t.Fatalf("plugins lock -o json: %v %d\n%s", err, r.code, r.stdout)
	}
	if locked.LockFile != filepath.Join(home, "plugins.lock") || len(locked.Changes) != 1 || locked.Changes[0].Change != "unchanged" || locked.Changes[0].SHA256 != sum {
		t.Fatalf("plugins lock -o json: %+v", locked)
	}

	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "lock"), home, exitOK,
		"- example 1.0.0 sha256:"+sum[:12]+"\n", "no plugins in HOME/plugins, STEWARD_DIR, bin\nwrote HOME/plugins.lock: 0 plugins pinned\n")
}

// TestPluginsChanged: a binary changed after it was locked is refused by
// run and shown as changed by list, which exits 1; locking it again
// updates the pin.
func TestPluginsChanged(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "example")
	bin := filepath.Join(home, "plugins", "steward-plugin-example")
	old := fileSHA256(t, bin)
	writeFile(t, filepath.Join(dir, "tx.yaml"), txRunbook)
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("tampered"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum := fileSHA256(t, bin)
	reason := "HOME/plugins/steward-plugin-example changed since it was locked: its SHA-256 is " + sum +
		", HOME/plugins.lock says " + old + "; it was not started. If you trust the new binary, run `steward plugins lock`"

	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "list"), home, exitFailed,
		"NAME     VERSION  PROTOCOL  LOCK     ACTIONS  PATH\n"+
			"example  -        -         changed  -        HOME/plugins/steward-plugin-example\n",
		"example: "+reason+"\nsteward: 1 plugin cannot be used\n")
	wantPrinted(t, homeRun(t, dir, home, nil, "run", "tx.yaml", "--input", "tx="+confirmedTx), home, exitInvalid, "",
		`tx.yaml:7:13: steps[0].action: plugin "example" cannot be used: `+reason+`
    7 |     action: example.lookup_transaction
      |             ^
tx.yaml:12:13: steps[1].action: plugin "example" cannot be used (see line 7)
   12 |     action: example.add_ticket_note
      |             ^
tx.yaml:15:13: steps[2].action: plugin "example" cannot be used (see line 7)
   15 |     action: example.list_ticket_notes
      |             ^
steward: tx.yaml is invalid: 3 problems; nothing ran
`)
	// --allow-unpinned does not start a changed binary.
	wantCode(t, homeRun(t, dir, home, nil, "--allow-unpinned", "run", "tx.yaml", "--input", "tx="+confirmedTx), exitInvalid, "changed, --allow-unpinned")

	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "lock"), home, exitOK,
		"~ example 1.0.0 sha256:"+old[:12]+" → sha256:"+sum[:12]+"\n", "wrote HOME/plugins.lock: 1 plugin pinned\n")
	wantCode(t, homeRun(t, dir, home, nil, "run", "tx.yaml", "--input", "tx="+confirmedTx), exitOK, "run after lock")
}

// TestPluginsDescribe shows a plugin's actions, their flags and fields.
func TestPluginsDescribe(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	bin := installPlugin(t, home, "example")
	sum := fileSHA256(t, bin)
	head := `plugin  example
path    HOME/plugins/steward-plugin-example
sha256  ` + sum + `
lock    unpinned
`
	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "describe", "example"), home, exitFailed, head,
		"steward: plugin example: HOME/plugins/steward-plugin-example is not pinned in HOME/plugins.lock (SHA-256 "+sum+
			"): check it, then run `steward plugins lock`; or, while you develop it, steward --allow-unpinned plugins describe example\n")
	wantCode(t, homeRun(t, dir, home, nil, "plugins", "lock"), exitOK, "lock")

	r := homeRun(t, dir, home, nil, "plugins", "describe", "example")
	wantCode(t, r, exitOK, "describe")
	out := strings.ReplaceAll(r.stdout, home, "HOME")
	for _, want := range []string{
		`plugin       example
version      1.0.0
description  Wallet support desk backed by fixtures: transactions, ticket notes, support tokens.
protocol     1
path         HOME/plugins/steward-plugin-example
sha256       ` + sum + `
lock         pinned

settings (plugins.settings.example in steward.yaml):
`,
		`
example.lookup_transaction
  Looks up an on-chain transaction: its status, confirmations and amount.
  read-only
  input:
    chain    string, required, one of ethereum, bitcoin, solana     the chain the transaction was sent on
    tx_hash  string, required, matching ^(0x)?[0-9A-Za-z]{16,128}$  the transaction's hash (signature on solana)
  output:
`,
		`
example.add_ticket_note
  Adds a note to a support ticket, once per step whatever the retries.
  mutates, idempotent
  input:
`,
		"  mutates, idempotent, sensitive outputs: token\n",
		"    token       string, required, sensitive\n",
		"    notes[].text        string, required\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plugins describe example does not print\n%s\nit prints:\n%s", want, out)
		}
	}

	r = homeRun(t, dir, home, nil, "plugins", "describe", "example", "-o", "json")
	var d struct {
		Name, Version string
		Protocol      int
		Actions       []struct {
			Name       string
			Mutates    bool
			Idempotent bool
			Sensitive  []string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 0 || r.stderr != "" {
		t.Fatalf("describe -o json: %v %d\n%s\n%s", err, r.code, r.stdout, r.stderr)
	}
	if d.Name != "example" || d.Version != "1.0.0" || d.Protocol != 1 || len(d.Actions) != 4 || d.Actions[0].Name != "example.add_ticket_note" {
		t.Fatalf("describe -o json: %+v", d)
	}

	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "describe", "exampel"), home, exitInvalid, "",
		"steward: no plugin \"exampel\" is installed: did you mean \"example\"?\n")
	wantPrinted(t, homeRun(t, dir, home, nil, "plugins", "describe", "payments"), home, exitInvalid, "",
		"steward: no plugin \"payments\" is installed: installed: example\n")
	empty := t.TempDir()
	wantPrinted(t, homeRun(t, dir, empty, nil, "plugins", "describe", "payments"), empty, exitInvalid, "",
		"steward: no plugin \"payments\" is installed (no plugins in HOME/plugins, STEWARD_DIR, bin)\n")
	wantPrinted(t, homeRun(t, dir, empty, nil, "plugins"), empty, exitInvalid, "",
		"steward: name a command: steward plugins list, describe NAME, lock or install PATH|NAME\n")
}
