package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "steward.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	p := write(t, "runbooks: [shared, /abs/runbooks]\n")
	cfg, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Runbooks[0] != filepath.Join(filepath.Dir(p), "shared") || cfg.Runbooks[1] != "/abs/runbooks" {
		t.Errorf("runbooks = %v", cfg.Runbooks)
	}
	if cfg, err := Load(write(t, ""), false); err != nil || len(cfg.Runbooks) != 1 {
		t.Errorf("empty file: %v %v", cfg, err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"runbook: [x]\n", `1:1: runbook: unknown key "runbook"`},
		{"runbooks: x\n", `1:11: runbooks: expected a list, got the text "x"`},
		{"runbooks: ['']\n", "runbooks[0] is empty"},
		{"runbooks: [\n", "did not find expected"},
	} {
		_, err := Load(write(t, tc.content), false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.content, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml"), false); err == nil {
		t.Error("a missing file the user named was accepted")
	}
	if cfg, err := Load(filepath.Join(t.TempDir(), "none.yaml"), true); err != nil || cfg.Runbooks[0] != "runbooks" {
		t.Errorf("missing optional file: %v %v", cfg, err)
	}
}

func TestLoadPlugins(t *testing.T) {
	p := write(t, `plugins:
  folders: [plugins, /opt/steward/plugins]
  lock: locks/plugins.lock
  start_timeout: 30s
  settings:
    payments:
      base_url: https://payments.internal
      api_key: {secret: PAYMENTS_API_KEY}
      retry: {max: 3, tokens: [{secret: A}, plain]}
`)
	cfg, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	pl := cfg.Plugins
	if len(pl.Folders) != 2 || pl.Folders[0] != filepath.Join(dir, "plugins") || pl.Folders[1] != "/opt/steward/plugins" {
		t.Errorf("folders = %v", pl.Folders)
	}
	if pl.Lock != filepath.Join(dir, "locks", "plugins.lock") {
		t.Errorf("lock = %q", pl.Lock)
	}
	if pl.StartTimeout != 30*time.Second {
		t.Errorf("start_timeout = %s", pl.StartTimeout)
	}
	want := map[string]any{
		"base_url": "https://payments.internal",
		"api_key":  map[string]any{"secret": "PAYMENTS_API_KEY"},
		"retry":    map[string]any{"max": 3, "tokens": []any{map[string]any{"secret": "A"}, "plain"}},
	}
	if got := pl.Settings["payments"]; !reflect.DeepEqual(got, want) {
		t.Errorf("settings = %#v\nwant %#v", got, want)
	}

	// Absent: nil folders and an empty lock, for the caller's defaults.
	cfg, err = Load(write(t, "runbooks: [r]\n"), false)
	if err != nil || cfg.Plugins.Folders != nil || cfg.Plugins.Lock != "" || cfg.Plugins.StartTimeout != 0 {
		t.Errorf("no plugins section: %+v %v", cfg.Plugins, err)
	}
	if Default().Plugins.Folders != nil {
		t.Error("the default names plugin folders")
	}
	// An empty list is no plugin folder at all.
	cfg, err = Load(write(t, "plugins: {folders: []}\n"), false)
	if err != nil || cfg.Plugins.Folders == nil || len(cfg.Plugins.Folders) != 0 {
		t.Errorf("folders: []: %#v %v", cfg.Plugins.Folders, err)
	}
}

func TestLoadPluginsErrors(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"plugins: {folder: [x]}\n", `1:11: plugins.folder: unknown key "folder"`},
		{"plugins: {folders: ['']}\n", "plugins.folders[0] is empty"},
		{"plugins: {start_timeout: soon}\n", `1:26: plugins.start_timeout: invalid duration "soon"`},
		{"plugins: {start_timeout: -1s}\n", "plugins.start_timeout must be positive, got -1s"},
		{"plugins: {settings: {Payments: {a: 1}}}\n", `plugins.settings.Payments: invalid plugin name "Payments"`},
		{"plugins: {settings: {payments: x}}\n", "plugins.settings.payments: expected a mapping of the plugin's settings"},
		{"plugins: {settings: {payments: {key: {secret: 3}}}}\n", "plugins.settings.payments.key: write {secret: NAME}"},
		{"plugins: {settings: {payments: {key: {secret: lower-case}}}}\n", "plugins.settings.payments.key: write {secret: NAME}"},
		{"plugins: {settings: {payments: {key: {secret: A, b: 1}}}}\n", "plugins.settings.payments.key: write {secret: NAME}"},
		{"plugins: {settings: {payments: {l: [{secret: 'a b'}]}}}\n", "plugins.settings.payments.l[0]: write {secret: NAME}"},
	} {
		_, err := Load(write(t, tc.content), false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.content, err, tc.want)
		}
	}
}

func TestLoadAudit(t *testing.T) {
	p := write(t, "audit:\n  checkpoint_key: keys/checkpoint.key\n")
	cfg, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(p), "keys", "checkpoint.key"); cfg.Audit.CheckpointKey != want {
		t.Errorf("checkpoint_key = %q, want %q", cfg.Audit.CheckpointKey, want)
	}
	if cfg, err := Load(write(t, "audit:\n  checkpoint_key: /srv/cp.key\n"), false); err != nil || cfg.Audit.CheckpointKey != "/srv/cp.key" {
		t.Errorf("absolute: %v %v", cfg, err)
	}
	if cfg, err := Load(write(t, ""), false); err != nil || cfg.Audit.CheckpointKey != "" {
		t.Errorf("default: %v %v", cfg, err)
	}
	if _, err := Load(write(t, "audit:\n  checkpoint: x\n"), false); err == nil || !strings.Contains(err.Error(), `audit.checkpoint: unknown key "checkpoint"`) {
		t.Errorf("unknown key: %v", err)
	}
}

// TestLoadRuns: runs.max_sub_runs is read; not set, it is 0 (the engine's
// default); a negative value is refused.
func TestLoadRuns(t *testing.T) {
	cfg, err := Load(write(t, "runs:\n  max_sub_runs: 12\n"), false)
	if err != nil || cfg.Runs.MaxSubRuns != 12 {
		t.Fatalf("runs: %+v, %v", cfg, err)
	}
	if cfg, err := Load(write(t, ""), false); err != nil || cfg.Runs.MaxSubRuns != 0 {
		t.Errorf("not set: %+v, %v", cfg, err)
	}
	for content, want := range map[string]string{
		"runs:\n  max_sub_runs: -1\n": "runs.max_sub_runs must be positive, got -1",
		"runs:\n  max_subruns: 3\n":   `runs.max_subruns: unknown key "max_subruns"`,
	} {
		if _, err := Load(write(t, content), false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}
