package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
