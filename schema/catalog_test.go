package schema

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// catalog is a Catalog of plugins by name; a plugin with a problem is
// installed but unusable, one not listed is not installed.
type catalog struct {
	actions  map[string]*DataSchema
	outputs  map[string]*DataSchema
	problems map[string]string
}

func (c catalog) ActionInput(name string) (*DataSchema, bool) {
	s, ok := c.actions[name]
	return s, ok
}

func (c catalog) ActionOutput(name string) (*DataSchema, bool) {
	if s, ok := c.outputs[name]; ok {
		return s, true
	}
	_, ok := c.actions[name]
	return nil, ok
}

func (c catalog) PluginProblem(plugin string) (bool, string) {
	if p, ok := c.problems[plugin]; ok {
		return true, p
	}
	for name := range c.actions {
		if strings.HasPrefix(name, plugin+".") {
			return true, ""
		}
	}
	return false, ""
}

// Actions are sorted, as the registry's are: a did-you-mean picks the
// first of equally close names, which a map's order would change.
func (c catalog) Actions() []string {
	return slices.Sorted(maps.Keys(c.actions))
}

// TestPluginDiagnostics: an action of a plugin not installed is a warning,
// with a did-you-mean when an installed action is close; one of an
// installed plugin that cannot be used is an error, its reason given once.
func TestPluginDiagnostics(t *testing.T) {
	cat := catalog{
		actions: map[string]*DataSchema{"payments.get": {Type: Types{"object"}, Required: []string{"id"},
			Properties: map[string]*DataSchema{"id": {Type: Types{"string"}}}}},
		problems: map[string]string{"chains": "it is not pinned"},
	}
	src := `version: 1
name: pay
steps:
  - id: a
    action: payments.get
    with: {id: x}
  - id: b
    action: paymnts.get
  - id: c
    action: cards.freeze
    undo:
      action: chains.tx
  - id: d
    action: chains.tx
  - id: e
    action: payments.gte
`
	_, diags := Check("p.yaml", []byte(src), cat)
	want := `p.yaml:8:13: warning: steps[1].action: plugin "paymnts" is not installed: its with is not checked
    8 |     action: paymnts.get
      |             ^
  hint: did you mean "payments.get"?
p.yaml:10:13: warning: steps[2].action: plugin "cards" is not installed: its with is not checked
   10 |     action: cards.freeze
      |             ^
  hint: install steward-plugin-cards in a plugin folder (steward plugins list)
p.yaml:12:15: steps[2].undo.action: plugin "chains" cannot be used: it is not pinned
   12 |       action: chains.tx
      |               ^
p.yaml:14:13: steps[3].action: plugin "chains" cannot be used (see line 12)
   14 |     action: chains.tx
      |             ^
p.yaml:16:13: steps[4].action: unknown action "payments.gte"
   16 |     action: payments.gte
      |             ^
  hint: did you mean "payments.get"?
`
	if got := diags.Render(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if errs, warns := diags.Count(); errs != 3 || warns != 2 {
		t.Errorf("Count = %d errors, %d warnings", errs, warns)
	}
	if errs := diags.Errors(); len(errs) != 3 || errs[0].Path != "steps[2].undo.action" {
		t.Errorf("Errors = %v", errs)
	}
	strict := diags.Strict()
	if errs, warns := strict.Count(); errs != 5 || warns != 0 || diags[0].Severity != SeverityWarning {
		t.Errorf("Strict: %d errors, %d warnings; the original changed: %v", errs, warns, diags[0].Severity)
	}
	if h := strict[0].Header(); h != `p.yaml:8:13: steps[1].action: plugin "paymnts" is not installed: its with is not checked` {
		t.Errorf("a warning made an error renders as %q", h)
	}
}

func TestSeverityJSON(t *testing.T) {
	ds := Diagnostics{{File: "a.yaml", Line: 1, Column: 2, Message: "bad"}, {File: "a.yaml", Severity: SeverityWarning, Message: "unchecked"}}
	b, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"file":"a.yaml","line":1,"column":2,"severity":"error","path":"","message":"bad"},` +
		`{"file":"a.yaml","line":0,"column":0,"severity":"warning","path":"","message":"unchecked"}]`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
	var back Diagnostics
	if err := json.Unmarshal(b, &back); err != nil || back[0].Severity != SeverityError || back[1].Severity != SeverityWarning {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if err := json.Unmarshal([]byte(`[{"severity":"fatal"}]`), &back); err == nil || !strings.Contains(err.Error(), `unknown severity "fatal"`) {
		t.Fatalf("an unknown severity: %v", err)
	}
	if h := ds[1].Header(); h != "a.yaml: warning: unchecked" {
		t.Errorf("header without a position: %q", h)
	}
}

// TestNullForOptionalField: a literal null given for an optional field of
// a plugin action means "not given"; for a required field it is an error.
func TestNullForOptionalField(t *testing.T) {
	cat := catalog{actions: map[string]*DataSchema{"evm.diagnose": {Type: Types{"object"}, Required: []string{"hash"},
		Properties: map[string]*DataSchema{"hash": {Type: Types{"string"}}, "nonce": {Type: Types{"integer"}}}}}}
	src := `version: 1
name: tx
steps:
  - id: a
    action: evm.diagnose
    with: {hash: "0x1", nonce: null}
  - id: b
    action: evm.diagnose
    with: {hash: null}
`
	_, diags := Check("t.yaml", []byte(src), cat)
	want := `t.yaml:9:18: steps[1].with.hash: hash must be a string, got null
    9 |     with: {hash: null}
      |                  ^
`
	if got := diags.Render(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

// hintingCatalog is a catalog that says where it looked for plugins.
type hintingCatalog struct{ catalog }

func (hintingCatalog) InstallHint(plugin string) string {
	return "no steward-plugin-" + plugin + " in /home/plugins, bin"
}

// TestInstallHint: a catalog that is an InstallHinter gives the hint of a
// step whose plugin is not installed; a did-you-mean still comes first.
func TestInstallHint(t *testing.T) {
	cat := hintingCatalog{catalog{actions: map[string]*DataSchema{"payments.get": {Type: Types{"object"}}}}}
	src := `version: 1
name: pay
steps:
  - id: a
    action: cards.freeze
  - id: b
    action: paymnts.get
`
	_, diags := Check("p.yaml", []byte(src), cat)
	want := `p.yaml:5:13: warning: steps[0].action: plugin "cards" is not installed: its with is not checked
    5 |     action: cards.freeze
      |             ^
  hint: no steward-plugin-cards in /home/plugins, bin
p.yaml:7:13: warning: steps[1].action: plugin "paymnts" is not installed: its with is not checked
    7 |     action: paymnts.get
      |             ^
  hint: did you mean "payments.get"?
`
	if got := diags.Render(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}
