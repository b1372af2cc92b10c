package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine"
)

// TestActionsDocumented keeps docs/actions.md true to the specs: every
// built-in action and every one of its input and output fields is named.
func TestActionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for _, s := range newRegistry(clockwork.NewRealClock(), nil, engine.Options{}, nil).Specs() {
		row := ""
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "| `"+s.Name+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("docs/actions.md has no row for %s", s.Name)
			continue
		}
		for name := range s.Input.Properties {
			if !strings.Contains(row, "`"+name+"`") {
				t.Errorf("docs/actions.md: %s input %s is not documented", s.Name, name)
			}
		}
		if s.Output != nil {
			for name := range s.Output.Properties {
				if !strings.Contains(row, "`"+name+"`") {
					t.Errorf("docs/actions.md: %s output %s is not documented", s.Name, name)
				}
			}
		}
	}
}

// auditScript extracts the Python verifier of docs/audit.md into a file.
func auditScript(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```python\n")
	code, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/audit.md has no python block")
	}
	path := filepath.Join(t.TempDir(), "verify.py")
	if err := os.WriteFile(path, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pythonRun runs a script with python3, which .ci/run installs.
func pythonRun(script string, args ...string) (string, error) {
	out, err := exec.Command("python3", append([]string{script}, args...)...).CombinedOutput()
	return string(out), err
}
