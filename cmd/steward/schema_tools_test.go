package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stewardhq/steward/runbooks"
)

// The JSON Schema that steward schema prints is checked with the tools
// editors and CI use, from npm (make tools-npm installs them in
// .tools/node_modules): ajv, a JSON Schema 2020-12 validator, and
// yaml-language-server, the YAML checker of VS Code, Neovim and others,
// driven over LSP.

// nodeTools returns the folder of the npm tools, or skips the test, loudly,
// when node is not installed; it fails when node is but the tools are not.
func nodeTools(t *testing.T) (node, tools string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		fmt.Fprintf(os.Stderr, "\n*** SKIPPED %s: node is not installed, so the runbook JSON Schema is NOT checked with ajv and yaml-language-server. Install nodejs and npm, then make tools-npm. ***\n\n", t.Name())
		t.Skip("node is not installed: the JSON Schema is not checked with ajv and yaml-language-server")
	}
	tools, err = filepath.Abs(filepath.Join("..", "..", ".tools"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"ajv", "ajv-formats", "yaml", "yaml-language-server"} {
		if _, err := os.Stat(filepath.Join(tools, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is not installed in %s/node_modules: run make tools-npm (%v)", pkg, tools, err)
		}
	}
	return node, tools
}

// schemaFile writes what steward schema ARGS... prints, and returns its path.
func schemaFile(t *testing.T, home string, args ...string) string {
	t.Helper()
	r := cli(t, t.TempDir(), home, append([]string{"schema"}, args...)...)
	wantCode(t, r, exitOK, "schema")
	path := filepath.Join(t.TempDir(), "runbook.schema.json")
	writeFile(t, path, r.stdout)
	return path
}

type ajvResult struct {
	File   string
	Valid  bool
	Errors []struct{ Path, Keyword, Message string }
}

func (r ajvResult) String() string {
	var b strings.Builder
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "  %s: %s (%s)\n", e.Path, e.Message, e.Keyword)
	}
	return b.String()
}

// ajv checks files against the schema with ajv, by file.
func ajv(t *testing.T, node, tools, schema string, files ...string) map[string]ajvResult {
	t.Helper()
	cmd := exec.Command(node, append([]string{filepath.Join("testdata", "schema", "ajv.cjs"), tools, schema}, files...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ajv: %v\n%s", err, stderr.String())
	}
	res := map[string]ajvResult{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r ajvResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("ajv printed %q: %v", sc.Text(), err)
		}
		res[r.File] = r
	}
	if len(res) != len(files) {
		t.Fatalf("ajv checked %d files of %d:\n%s", len(res), len(files), out)
	}
	return res
}

// bundledRunbooks are the runbook files of the bundled library.
func bundledRunbooks(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "runbooks", "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if runbooks.IsRunbookFile(filepath.Base(f)) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	if len(out) < len(runbooks.Bundled()) {
		t.Fatalf("found %d bundled runbooks: %v", len(out), out)
	}
	return out
}

const schemaHead = "version: 1\nname: wrong\n"

// wrongRunbooks are runbooks each with one mistake the schema catches,
// with the error ajv must report: at PATH, keyword, message.
var wrongRunbooks = []struct {
	name, src              string
	path, keyword, message string
}{
	{"number as duration", schemaHead + "timeout: 30\nsteps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n",
		"/timeout", "type", "must be string"},
	{"zero duration", schemaHead + "timeout: 0s\nsteps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n",
		"/timeout", "not", "must NOT be valid"},
	{"unknown field of core.log", schemaHead + "steps:\n  - id: a\n    action: core.log\n    with: {mesage: hi}\n",
		"/steps/0/with", "additionalProperties", "must NOT have additional properties"},
	{"missing url of http.request", schemaHead + "steps:\n  - id: a\n    action: http.request\n    with: {method: GET}\n",
		"/steps/0/with", "required", "must have required property 'url'"},
	{"exec command as a string", schemaHead + "steps:\n  - id: a\n    action: exec\n    with: {command: ls -l}\n",
		"/steps/0/with/command", "anyOf", "must match a schema in anyOf"},
	{"core.sleep duration as a number", schemaHead + "steps:\n  - id: a\n    action: core.sleep\n    with: {duration: 5}\n",
		"/steps/0/with/duration", "anyOf", "must match a schema in anyOf"},
	{"undo with an unknown field", schemaHead + "steps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n    undo:\n      action: core.fail\n      with: {messag: x}\n",
		"/steps/0/undo/with", "additionalProperties", "must NOT have additional properties"},
	{"on_failure with an unknown field", schemaHead + "steps:\n  - id: a\n    action: core.log\n    with: {message: hi}\non_failure:\n  - id: f\n    action: core.log\n    with: {levl: warn}\n",
		"/on_failure/0/with", "additionalProperties", "must NOT have additional properties"},
	{"input pattern not a regular expression", schemaHead + "inputs:\n  x: {type: string, pattern: '(['}\nsteps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n",
		"/inputs/x/pattern", "format", `must match format "regex"`},
	{"enum of an integer input", schemaHead + "inputs:\n  n: {type: integer, enum: [1, two]}\nsteps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n",
		"/inputs/n/enum/1", "type", "must be integer"},
}

// TestSchemaAjv: with the JSON Schema of steward schema, ajv accepts every
// bundled runbook and runbooks that use templates where the actions take
// typed values, and rejects each wrong runbook with the expected error;
// a number where a duration goes fails once, as not a string.
func TestSchemaAjv(t *testing.T) {
	node, tools := nodeTools(t)
	schema := schemaFile(t, t.TempDir())
	dir := t.TempDir()
	good := filepath.Join(dir, "templates.yaml")
	writeFile(t, good, `version: 1
name: templates
inputs:
  argv: {type: array}
  wait: {type: string, default: 1s}
steps:
  - id: a
    action: exec
    with: {command: '${{ inputs.argv }}', timeout: '${{ inputs.wait }}'}
  - id: b
    action: core.sleep
    with: {duration: '${{ inputs.wait }}'}
  - id: c
    action: http.request
    with: {url: 'https://example.com/${{ inputs.wait }}', method: GET, expect_status: [200, 404], headers: {Accept: application/json}}
  - id: d
    action: core.set
    with: {anything: 1, goes: [here]}
  - id: e
    action: core.log
    with: {message: hi, level: ~}
  - id: f
    action: payments.refund
    with: {whatever: 1}
`)
	files := append(bundledRunbooks(t), good)
	want := map[string]int{}
	for _, w := range wrongRunbooks {
		f := filepath.Join(dir, strings.ReplaceAll(w.name, " ", "-")+".yaml")
		writeFile(t, f, w.src)
		files = append(files, f)
		want[f]++
	}
	res := ajv(t, node, tools, schema, files...)
	for _, f := range append(bundledRunbooks(t), good) {
		if r := res[f]; !r.Valid {
			t.Errorf("ajv rejects %s:\n%s", f, r)
		}
	}
	for _, w := range wrongRunbooks {
		r := res[filepath.Join(dir, strings.ReplaceAll(w.name, " ", "-")+".yaml")]
		if r.Valid {
			t.Errorf("%s: ajv accepts it", w.name)
			continue
		}
		found := false
		for _, e := range r.Errors {
			if e.Path == w.path && e.Keyword == w.keyword && e.Message == w.message {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: ajv does not say %s: %s (%s); it says:\n%s", w.name, w.path, w.message, w.keyword, r)
		}
	}
	// A number where a duration goes is one error, not also a "not".
	if r := res[filepath.Join(dir, "number-as-duration.yaml")]; len(r.Errors) != 1 {
		t.Errorf("timeout: 30 gives %d errors, want 1:\n%s", len(r.Errors), r)
	}
}

// TestSchemaPlugins: steward schema --plugins adds the installed plugins'
// actions, named with their descriptions, and types their with: ajv then
// rejects an unknown field of payments.get_payment and accepts the
// bundled runbooks; without --plugins their with is not typed.
func TestSchemaPlugins(t *testing.T) {
	node, tools := nodeTools(t)
	home := pinnedBundled(t)
	plain, withPlugins := schemaFile(t, home), schemaFile(t, home, "--plugins")
	var doc struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	b, err := os.ReadFile(withPlugins)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"with.payments.get_payment", "with.evm.get_transaction", "with.access.grant", "with.notify.email", "with.core.log"} {
		if _, ok := doc.Defs[name]; !ok {
			t.Errorf("steward schema --plugins has no $defs/%s", name)
		}
	}
	if !strings.Contains(string(doc.Defs["action"]), `"const": "payments.refund"`) {
		t.Errorf("steward schema --plugins does not name payments.refund among the actions")
	}
	dir := t.TempDir()
	wrong := filepath.Join(dir, "wrong.yaml")
	writeFile(t, wrong, schemaHead+"steps:\n  - id: a\n    action: payments.get_payment\n    with: {paymnt_id: pi_123456}\n")
	files := append(bundledRunbooks(t), wrong)
	res := ajv(t, node, tools, withPlugins, files...)
	for _, f := range files[:len(files)-1] {
		if r := res[f]; !r.Valid {
			t.Errorf("with --plugins, ajv rejects %s:\n%s", f, r)
		}
	}
	if r := res[wrong]; r.Valid || !strings.Contains(r.String(), "/steps/0/with: must NOT have additional properties") {
		t.Errorf("with --plugins, payments.get_payment's unknown field:\n%s", r)
	}
	if r := ajv(t, node, tools, plain, wrong)[wrong]; !r.Valid {
		t.Errorf("without --plugins, a plugin's with is not typed:\n%s", r)
	}
}
