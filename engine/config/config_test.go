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
		{"runbook: [x]\n", "field runbook not found"},
		{"runbooks: x\n", "cannot unmarshal"},
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
		{"plugins: {folder: [x]}\n", "field folder not found in type config.Plugins"},
		{"plugins: {folders: ['']}\n", "plugins.folders[0] is empty"},
		{"plugins: {start_timeout: soon}\n", "cannot unmarshal !!str `soon` into time.Duration"},
		{"plugins: {start_timeout: -1s}\n", "plugins.start_timeout must be positive, got -1s"},
		{"plugins: {settings: {Payments: {a: 1}}}\n", "plugins.settings.Payments: a plugin name is lower-case"},
		{"plugins: {settings: {payments: x}}\n", "cannot unmarshal"},
		{"plugins: {settings: {payments: {key: {secret: 3}}}}\n", "plugins.settings.payments.key: write {secret: NAME}"},
		{"plugins: {settings: {payments: {key: {secret: A, b: 1}}}}\n", "plugins.settings.payments.key: write {secret: NAME}"},
		{"plugins: {settings: {payments: {l: [{secret: 'a b'}]}}}\n", "plugins.settings.payments.l[0]: write {secret: NAME}"},
	} {
		_, err := Load(write(t, tc.content), false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.content, err, tc.want)
		}
	}
}
