package actions

import (
	"context"
	"errors"
	"testing"
)

type stub struct{ spec Spec }

func (s stub) Spec() Spec { return s.spec }

func (s stub) Execute(context.Context, *Request) (map[string]any, error) { return nil, nil }

// source has plugins good and bad; bad cannot be loaded.
type source struct{ loads map[string]int }

func (s *source) Plugins() []string { return []string{"bad", "good"} }

func (s *source) Load(plugin string) ([]Action, error) {
	s.loads[plugin]++
	if plugin == "bad" {
		return nil, errors.New("plugin bad: /p/steward-plugin-bad is not pinned")
	}
	return []Action{stub{Spec{Name: "good.go"}}}, nil
}

// TestPluginProblem tells a plugin not installed from one that is
// installed but unusable, loading each once.
func TestPluginProblem(t *testing.T) {
	r := NewRegistry()
	if err := r.Register(stub{Spec{Name: "core.log"}}); err != nil {
		t.Fatal(err)
	}
	src := &source{loads: map[string]int{}}
	r.AddSource(src)
	for _, tc := range []struct {
		plugin    string
		installed bool
		problem   string
	}{
		{"core", true, ""},
		{"good", true, ""},
		{"bad", true, "/p/steward-plugin-bad is not pinned"},
		{"bad", true, "/p/steward-plugin-bad is not pinned"},
		{"gone", false, ""},
	} {
		installed, problem := r.PluginProblem(tc.plugin)
		if installed != tc.installed || problem != tc.problem {
			t.Errorf("PluginProblem(%q) = %v, %q; want %v, %q", tc.plugin, installed, problem, tc.installed, tc.problem)
		}
	}
	if src.loads["good"] != 1 || src.loads["bad"] != 1 {
		t.Errorf("loads = %v, want each plugin once", src.loads)
	}
	if _, ok := r.Lookup("good.go"); !ok {
		t.Error("good.go is not registered")
	}
	if !errors.Is(r.Problem("gone"), ErrNoPlugin) {
		t.Errorf("Problem(gone) = %v", r.Problem("gone"))
	}
}

// hinting is a source that says where it looks for plugins.
type hinting struct{ source }

func (h *hinting) InstallHint(plugin string) string { return "no steward-plugin-" + plugin + " in /p" }

// TestInstallHint: the registry gives the hint of the first source that
// has one, and none without such a source.
func TestInstallHint(t *testing.T) {
	r := NewRegistry()
	if got := r.InstallHint("cards"); got != "" {
		t.Errorf("no source: %q", got)
	}
	r.AddSource(&source{loads: map[string]int{}})
	r.AddSource(&hinting{source{loads: map[string]int{}}})
	if got := r.InstallHint("cards"); got != "no steward-plugin-cards in /p" {
		t.Errorf("InstallHint = %q", got)
	}
}
