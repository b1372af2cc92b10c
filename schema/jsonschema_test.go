package schema

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"gopkg.in/yaml.v3"
)

// These tests keep runbook.schema.json (for editors and other tools) in step
// with the Go loader: every valid example passes both, every structural
// mistake fails both, and the schema's keys, enums, bounds and patterns are
// the loader's own.

const jsonSchemaDraft = "https://json-schema.org/draft/2020-12/schema"

// jsonSchemaDoc returns the embedded schema decoded as JSON.
func jsonSchemaDoc(t *testing.T) map[string]any {
	t.Helper()
	raw := JSONSchema()
	if !json.Valid(raw) {
		t.Fatal("runbook.schema.json is not valid JSON")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("runbook.schema.json: %v", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("runbook.schema.json is a %T, want an object", doc)
	}
	return m
}

// jsonSchemaCompile compiles the embedded schema and, when fragment is not
// empty, returns the subschema at that JSON pointer fragment (such as
// "/$defs/duration").
func jsonSchemaCompile(t *testing.T, fragment string) *jsonschema.Schema {
	t.Helper()
	doc := jsonSchemaDoc(t)
	id, _ := doc["$id"].(string)
	if id == "" {
		t.Fatal("runbook.schema.json has no $id")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(id, doc); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	loc := id
	if fragment != "" {
		loc += "#" + fragment
	}
	sch, err := c.Compile(loc)
	if err != nil {
		t.Fatalf("compile %s: %v", loc, err)
	}
	return sch
}

// jsonSchemaInstance converts a YAML document into the value the JSON Schema
// validator expects: objects as map[string]any, numbers as json.Number. It
// goes through JSON text so that the numbers are exactly what a JSON tool
// would see.
func jsonSchemaInstance(src []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	jsonSchemaUntime(&doc)
	var v any
	if err := doc.Decode(&v); err != nil {
		return nil, err
	}
	v, err := jsonSchemaNormalize(v)
	if err != nil {
		return nil, err
	}
	text, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(text))
}

// jsonSchemaUntime keeps timestamps as the text written in the file, as a
// JSON tool would see them: yaml.v3 would decode them to time.Time.
func jsonSchemaUntime(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		jsonSchemaUntime(c)
	}
}

// jsonSchemaNormalize turns the maps yaml.v3 produces for non-string keys
// into map[string]any, as JSON requires.
func jsonSchemaNormalize(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			n, err := jsonSchemaNormalize(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := jsonSchemaNormalize(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = n
		}
		return out, nil
	case []any:
		for i, e := range x {
			n, err := jsonSchemaNormalize(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	}
	return v, nil
}

func jsonSchemaFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join("testdata", dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

func TestJSONSchemaCompiles(t *testing.T) {
	doc := jsonSchemaDoc(t)
	if got := doc["$schema"]; got != jsonSchemaDraft {
		t.Errorf("$schema = %v, want %s", got, jsonSchemaDraft)
	}
	for _, k := range []string{"$id", "title", "description"} {
		if s, _ := doc[k].(string); s == "" {
			t.Errorf("the schema has no %s", k)
		}
	}
	// Compiling also validates the schema against the 2020-12 meta-schema.
	jsonSchemaCompile(t, "")
	if !bytes.Equal(JSONSchema(), jsonSchema) {
		t.Error("JSONSchema() does not return the embedded schema")
	}
}

func TestJSONSchemaValidExamples(t *testing.T) {
	sch := jsonSchemaCompile(t, "")
	files := jsonSchemaFiles(t, "valid")
	if len(files) < 4 {
		t.Fatalf("found %d valid examples, want at least 4", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if _, diags := Check(file, src, nil); len(diags) > 0 {
				t.Errorf("the Go loader rejects a valid example:\n%s", diags.Render())
			}
			inst, err := jsonSchemaInstance(src)
			if err != nil {
				t.Fatalf("convert to JSON: %v", err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("the JSON Schema rejects a valid example:\n%v", err)
			}
		})
	}
}

// Each file of testdata/structural holds one structural mistake. Its first
// line says what is wrong; its second line, "# path: FIELD.PATH", names the
// field the Go loader reports ("(root)" for the document itself), so that a
// file that fails for another reason than the intended one is caught.
func TestJSONSchemaStructuralExamples(t *testing.T) {
	sch := jsonSchemaCompile(t, "")
	files := jsonSchemaFiles(t, "structural")
	if len(files) < 15 {
		t.Fatalf("found %d structural examples, want at least 15", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			what, path, err := jsonSchemaHeader(src)
			if err != nil {
				t.Fatal(err)
			}
			_, diags := Check(file, src, nil)
			if len(diags) == 0 {
				t.Fatalf("the Go loader accepts it (%s)", what)
			}
			if !slices.ContainsFunc(diags, func(d Diagnostic) bool { return d.Path == path }) {
				t.Errorf("the Go loader reports no problem at %q (%s); it says:\n%s", path, what, diags.Render())
			}

			inst, err := jsonSchemaInstance(src)
			if err != nil {
				t.Fatalf("convert to JSON: %v", err)
			}
			err = sch.Validate(inst)
			if err == nil {
				t.Fatalf("the JSON Schema accepts it (%s)", what)
			}
			var verr *jsonschema.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("validate: %v", err)
			}
			// The schema must object at the field or at the object
			// holding it (unknown and missing keys are reported there).
			found, locs := jsonSchemaObjectsAt(verr, jsonSchemaPointer(path))
			if !found {
				t.Errorf("the JSON Schema objects at %v, not at %q (%s):\n%v", locs, path, what, err)
			}
		})
	}
}

// jsonSchemaHeader reads the two comment lines that start a structural example.
func jsonSchemaHeader(src []byte) (what, path string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(src))
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "# ") || !strings.HasPrefix(lines[1], "# path: ") {
		return "", "", errors.New(`a structural example starts with "# WHAT IS WRONG" and "# path: FIELD.PATH"`)
	}
	what = strings.TrimPrefix(lines[0], "# ")
	path = strings.TrimSpace(strings.TrimPrefix(lines[1], "# path: "))
	if path == "(root)" {
		path = ""
	}
	return what, path, nil
}

var jsonSchemaPathRe = regexp.MustCompile(`\[(\d+)\]`)

// jsonSchemaPointer turns a loader FIELD.PATH such as steps[0].retry.attempts
// into the tokens of a JSON pointer: steps, 0, retry, attempts.
func jsonSchemaPointer(path string) []string {
	if path == "" {
		return []string{}
	}
	return strings.Split(jsonSchemaPathRe.ReplaceAllString(path, ".$1"), ".")
}

// jsonSchemaObjectsAt reports whether one of the innermost errors of e is at
// the field want or at the object holding it (where unknown and missing keys
// are reported). It also returns every place it found, for the message.
func jsonSchemaObjectsAt(e *jsonschema.ValidationError, want []string) (bool, []string) {
	if pn, ok := e.ErrorKind.(*kind.PropertyNames); ok {
		// jsonschema v6.0.3 does not copy the location of a propertyNames
		// error, so later checks may overwrite it (santhosh-tekuri/jsonschema
		// issue 258, PR 269): match the property name instead.
		ok := len(want) > 0 && want[len(want)-1] == pn.Property
		return ok, []string{"propertyNames " + strconv.Quote(pn.Property)}
	}
	if len(e.Causes) == 0 {
		loc := e.InstanceLocation
		ok := slices.Equal(loc, want) || len(want) > 0 && slices.Equal(loc, want[:len(want)-1])
		return ok, []string{"/" + strings.Join(loc, "/")}
	}
	found := false
	var locs []string
	for _, c := range e.Causes {
		ok, l := jsonSchemaObjectsAt(c, want)
		found = found || ok
		locs = append(locs, l...)
	}
	return found, locs
}

// jsonSchemaDef returns the object at a path of keys below the schema root.
func jsonSchemaDef(t *testing.T, doc map[string]any, keys ...string) map[string]any {
	t.Helper()
	cur := doc
	for i, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("schema has no object at %s", strings.Join(keys[:i+1], "/"))
		}
		cur = next
	}
	return cur
}

func jsonSchemaKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func jsonSchemaSorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func jsonSchemaStrings(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("expected a list, got %T", v)
	}
	out := make([]string, len(list))
	for i, x := range list {
		out[i], _ = x.(string)
	}
	return out
}

func jsonSchemaNumber(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	n, ok := m[key].(json.Number)
	if !ok {
		t.Fatalf("no number %q in %v", key, m)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestJSONSchemaMatchesLoader compares the schema's keys, required keys,
// enums, bounds and patterns with the loader's.
func TestJSONSchemaMatchesLoader(t *testing.T) {
	doc := jsonSchemaDoc(t)
	defs := jsonSchemaDef(t, doc, "$defs")

	objects := []struct {
		name     string
		schema   map[string]any
		keys     []string
		required []string
	}{
		{"runbook", doc, runbookKeys, []string{"version", "name", "steps"}},
		{"input", defs["input"].(map[string]any), inputKeys, nil},
		{"step", defs["step"].(map[string]any), stepKeys, []string{"id", "action"}},
		{"onFailureStep", defs["onFailureStep"].(map[string]any),
			slices.DeleteFunc(slices.Clone(stepKeys), func(k string) bool { return k == "approval" || k == "undo" }),
			[]string{"id", "action"}},
		{"retry", defs["retry"].(map[string]any), retryKeys, nil},
		{"approval", defs["approval"].(map[string]any), approvalKeys, nil},
		{"undo", defs["undo"].(map[string]any), undoKeys, []string{"action"}},
		{"schedule", defs["schedule"].(map[string]any), scheduleKeys, []string{"cron"}},
		{"concurrency", defs["concurrency"].(map[string]any), concurrencyKeys, []string{"key"}},
	}
	for _, o := range objects {
		props := jsonSchemaDef(t, o.schema, "properties")
		if got, want := jsonSchemaKeys(props), jsonSchemaSorted(o.keys); !slices.Equal(got, want) {
			t.Errorf("%s: schema properties %v, loader keys %v", o.name, got, want)
		}
		if o.schema["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties must be false: the loader rejects unknown keys", o.name)
		}
		var req []string
		if r, ok := o.schema["required"]; ok {
			req = jsonSchemaStrings(t, r)
		}
		if got, want := jsonSchemaSorted(req), jsonSchemaSorted(o.required); !slices.Equal(got, want) {
			t.Errorf("%s: schema requires %v, loader requires %v", o.name, got, want)
		}
	}

	// Built-in actions and input types.
	var builtins []string
	for _, alt := range defs["action"].(map[string]any)["anyOf"].([]any) {
		if c, ok := alt.(map[string]any)["const"].(string); ok {
			builtins = append(builtins, c)
		}
	}
	if !slices.Equal(jsonSchemaSorted(builtins), jsonSchemaSorted(BuiltinActions)) {
		t.Errorf("schema built-in actions %v, loader %v", builtins, BuiltinActions)
	}
	types := jsonSchemaStrings(t, jsonSchemaDef(t, defs, "input", "properties", "type")["enum"])
	if !slices.Equal(types, InputTypes) {
		t.Errorf("schema input types %v, loader %v", types, InputTypes)
	}

	// Patterns.
	actionPattern := ""
	for _, alt := range defs["action"].(map[string]any)["anyOf"].([]any) {
		if p, ok := alt.(map[string]any)["pattern"].(string); ok {
			actionPattern = p
		}
	}
	for _, c := range []struct {
		name, got string
		re        *regexp.Regexp
	}{
		{"runbook name", jsonSchemaDef(t, defs, "runbookName")["pattern"].(string), nameRe()},
		{"step id", jsonSchemaDef(t, defs, "stepId")["pattern"].(string), stepIDRe()},
		{"identifier", jsonSchemaDef(t, defs, "identifier")["pattern"].(string), identRe()},
		{"action", actionPattern, actionNameRe()},
	} {
		if c.got != c.re.String() {
			t.Errorf("%s pattern: schema %q, loader %q", c.name, c.got, c.re)
		}
	}
	if got := jsonSchemaNumber(t, jsonSchemaDef(t, defs, "stepId"), "maxLength"); got != 64 {
		t.Errorf("step id maxLength = %v, want 64", got)
	}

	// Bounds.
	retry := jsonSchemaDef(t, defs, "retry", "properties")
	step := jsonSchemaDef(t, defs, "step", "properties")
	for _, c := range []struct {
		name     string
		m        map[string]any
		min, max float64
	}{
		{"retry.attempts", retry["attempts"].(map[string]any), 1, MaxAttempts},
		{"retry.backoff", retry["backoff"].(map[string]any), 1, MaxBackoff},
		{"retry.jitter", retry["jitter"].(map[string]any), 0, 1},
		{"max_parallel", step["max_parallel"].(map[string]any), 1, MaxMaxParallel},
	} {
		if got := jsonSchemaNumber(t, c.m, "minimum"); got != c.min {
			t.Errorf("%s minimum = %v, loader %v", c.name, got, c.min)
		}
		if got := jsonSchemaNumber(t, c.m, "maximum"); got != c.max {
			t.Errorf("%s maximum = %v, loader %v", c.name, got, c.max)
		}
	}
	steps := jsonSchemaDef(t, doc, "properties", "steps")
	if got := jsonSchemaNumber(t, steps, "minItems"); got != 1 {
		t.Errorf("steps minItems = %v, want 1", got)
	}
	for _, key := range []string{"steps", "on_failure"} {
		if got := jsonSchemaNumber(t, jsonSchemaDef(t, doc, "properties", key), "maxItems"); got != MaxSteps {
			t.Errorf("%s maxItems = %v, loader %v", key, got, MaxSteps)
		}
	}
}

// TestJSONSchemaDescriptions checks that every property has a description,
// written next to it or on the schema it refers to: editors show them.
func TestJSONSchemaDescriptions(t *testing.T) {
	doc := jsonSchemaDoc(t)
	resolve := func(ref string) map[string]any {
		ptr, ok := strings.CutPrefix(ref, "#/")
		if !ok {
			t.Fatalf("unexpected $ref %q", ref)
		}
		return jsonSchemaDef(t, doc, strings.Split(ptr, "/")...)
	}
	var described func(m map[string]any) bool
	described = func(m map[string]any) bool {
		if d, _ := m["description"].(string); d != "" {
			return true
		}
		if ref, ok := m["$ref"].(string); ok {
			return described(resolve(ref))
		}
		return false
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if props, ok := x["properties"].(map[string]any); ok {
				for name, p := range props {
					ps, ok := p.(map[string]any)
					if !ok {
						continue // false: a key that is not allowed there
					}
					// Properties inside if/then/else only add constraints.
					if !strings.Contains(path, "/allOf/") && !described(ps) {
						t.Errorf("%s/properties/%s has no description", path, name)
					}
				}
			}
			for k, e := range x {
				walk(path+"/"+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s/%d", path, i), e)
			}
		}
	}
	walk("#", doc)
}

type jsonSchemaCase struct {
	name, doc string
	valid     bool
}

// TestJSONSchemaEdgeCases runs small documents through both the loader and
// the schema: both must accept, or both reject, each one.
func TestJSONSchemaEdgeCases(t *testing.T) {
	sch := jsonSchemaCompile(t, "")
	const head = "version: 1\nname: edge-cases\n"
	const step = "steps:\n  - id: a\n    action: core.log\n"
	cases := []jsonSchemaCase{
		{"null optional mappings", head + "tags: ~\ninputs: ~\nvars: ~\noutputs: ~\n" + step + "    with: ~\n    retry: ~\n    approval: ~\n    outputs: ~\n    needs: ~\n", true},
		{"empty on_failure and schedule", head + "schedule: []\non_failure: []\n" + step, true},
		{"input without fields", head + "inputs:\n  note:\n" + step, true},
		{"input name with leading underscore", head + "inputs:\n  _note: {type: string}\n" + step, true},
		{"integer default written as 2.0", head + "inputs:\n  n: {type: integer, default: 2.0}\n" + step, true},
		{"integer default 2.5", head + "inputs:\n  n: {type: integer, default: 2.5}\n" + step, false},
		{"number default from an integer", head + "inputs:\n  n: {type: number, default: 2, min: 0.5, max: 3}\n" + step, true},
		{"object default", head + "inputs:\n  o: {type: object, default: {a: [1, 2]}}\n" + step, true},
		{"array default is a string", head + "inputs:\n  l: {type: array, default: abc}\n" + step, false},
		{"boolean enum", head + "inputs:\n  b: {type: boolean, enum: [true]}\n" + step, true},
		{"null default", head + "inputs:\n  s: {type: string, default: ~}\n" + step, false},
		{"string default with a template", head + "inputs:\n  s: {type: string, default: '${{ 1 }}'}\n" + step, false},
		{"secret without default", head + "inputs:\n  s: {type: string, secret: true, required: true}\n" + step, true},
		{"secret: false with default", head + "inputs:\n  s: {type: string, secret: false, default: x}\n" + step, true},
		{"required as a string", head + "inputs:\n  s: {required: 'true'}\n" + step, false},
		{"concurrency key as a number", head + "concurrency: {key: 42}\n" + step, true},
		{"concurrency key empty", head + "concurrency: {key: ''}\n" + step, false},
		{"concurrency: null", head + "concurrency: ~\n" + step, false},
		{"if: false", head + step + "    if: false\n", true},
		{"if: blank", head + step + "    if: '   '\n", false},
		{"if: null", head + step + "    if: ~\n", false},
		{"for_each with max_parallel 256", head + step + "    for_each: '${{ [1] }}'\n    max_parallel: 256\n", true},
		{"max_parallel 257", head + step + "    for_each: '${{ [1] }}'\n    max_parallel: 257\n", false},
		{"retry when false", head + step + "    retry: {attempts: 100, backoff: 10, jitter: 0, when: false}\n", true},
		{"backoff 0.5", head + step + "    retry: {backoff: 0.5}\n", false},
		{"jitter -0.1", head + step + "    retry: {jitter: -0.1}\n", false},
		{"approval with empty approvers", head + step + "    approval: {approvers: [], timeout: 1h}\n", true},
		{"approvers as a string", head + step + "    approval: {approvers: leads}\n", false},
		{"approval message a number", head + step + "    approval: {message: 42}\n", false},
		{"undo: null", head + step + "    undo: ~\n", false},
		{"undo with a bad action", head + step + "    undo: {action: undo}\n", false},
		{"step name a number", head + step + "    name: 42\n", false},
		{"step is null", head + "steps:\n  -\n", false},
		{"step is a string", head + "steps:\n  - core.log\n", false},
		{"outputs name with a dash", head + step + "    outputs: {a-b: '${{ result }}'}\n", false},
		{"tags as a string", head + "tags: payments\n" + step, false},
		{"title a number", head + "title: 42\n" + step, false},
		{"name with 63 characters", "version: 1\nname: a" + strings.Repeat("b", 62) + "\n" + step, true},
		{"name with 64 characters", "version: 1\nname: a" + strings.Repeat("b", 63) + "\n" + step, false},
		{"name starting with a digit", "version: 1\nname: 1ab\n" + step, false},
		{"version: 0", "version: 0\nname: ab\n" + step, false},
		{"steps: null", head + "steps:\n", false},
		{"on_failure: null", head + step + "on_failure:\n", false},
		{"schedule: null", head + step + "schedule:\n", false},
		{"schedule entry null", head + step + "schedule:\n  -\n", false},
		{"timezone UTC", head + step + "schedule: [{cron: '@hourly', timezone: UTC}]\n", true},
		{"timezone empty", head + step + "schedule: [{cron: '@hourly', timezone: ''}]\n", false},
		{"timezone a number", head + step + "schedule: [{cron: '@hourly', timezone: 1}]\n", false},
		{"cron a number", head + step + "schedule: [{cron: 5}]\n", false},
		{"schedule inputs a list", head + step + "schedule: [{cron: '@hourly', inputs: [a]}]\n", false},
		{"with a string", head + step + "    with: hello\n", false},
		{"needs a single id", head + "steps:\n  - id: a\n    action: core.log\n  - id: b\n    needs: a\n    action: core.log\n", true},
		{"needs a list holding a number", head + "steps:\n  - id: a\n    action: core.log\n  - id: b\n    needs: [1]\n    action: core.log\n", false},
		{"on_failure step with retry", head + step + "on_failure:\n  - id: f\n    action: core.log\n    retry: {attempts: 2}\n", true},
		{"on_failure step without action", head + step + "on_failure:\n  - id: f\n", false},
		{"timeout 1h30m", head + "timeout: 1h30m\n" + step, true},
		{"timeout with a template", head + "timeout: '${{ inputs.t }}'\n" + step, false},
	}
	// At most 1000 steps (with unique ids).
	var many strings.Builder
	for i := range 1001 {
		fmt.Fprintf(&many, "  - {id: s%d, action: core.log}\n", i)
	}
	lines := strings.SplitAfter(many.String(), "\n")
	cases = append(cases, jsonSchemaCase{"1000 steps", head + "steps:\n" + strings.Join(lines[:1000], ""), true})
	cases = append(cases, jsonSchemaCase{"1001 steps", head + "steps:\n" + many.String(), false})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, diags := Check("edge.yaml", []byte(c.doc), nil)
			if loader := len(diags) == 0; loader != c.valid {
				t.Errorf("the Go loader accepts = %v, want %v:\n%s", loader, c.valid, diags.Render())
			}
			inst, err := jsonSchemaInstance([]byte(c.doc))
			if err != nil {
				t.Fatalf("convert to JSON: %v", err)
			}
			if err := sch.Validate(inst); (err == nil) != c.valid {
				t.Errorf("the JSON Schema accepts = %v, want %v: %v", err == nil, c.valid, err)
			}
		})
	}
}

// TestJSONSchemaActions checks action names against the loader itself:
// built-ins, plugin actions, names reserved for built-ins and bad names.
func TestJSONSchemaActions(t *testing.T) {
	sch := jsonSchemaCompile(t, "/$defs/action")
	names := []string{
		"payments.get_payment", "notify.email", "my-plugin.do_it", "a.b", "x9.y_2", "corex.log", "https.get", "execs.run",
		"core.print", "core.sleeep", "http.get", "exec.run", "payments", "Payments.get", "payments.Get", "payments.get-payment",
		"payments/get", ".get", "payments.", "payments.get.x", "9lives.go", "p.9", "",
	}
	for _, b := range BuiltinActions {
		names = append(names, b)
		plugin, _, _ := strings.Cut(b, ".")
		names = append(names, plugin+".unknown_action")
	}
	for _, name := range names {
		src := fmt.Sprintf("version: 1\nname: actions\nsteps:\n  - id: a\n    action: %q\n", name)
		_, diags := Load("actions.yaml", []byte(src))
		loader := len(diags) == 0
		schema := sch.Validate(name) == nil
		if loader != schema {
			t.Errorf("action %q: loader accepts = %v, JSON Schema accepts = %v %s", name, loader, schema, diags.Error())
		}
	}
}

// TestJSONSchemaDurations checks the duration pattern against the loader's
// rule: a Go duration (time.ParseDuration) greater than zero.
func TestJSONSchemaDurations(t *testing.T) {
	sch := jsonSchemaCompile(t, "/$defs/duration")
	for _, s := range []string{
		"500ms", "30s", "15m", "4h", "1h30m", "1.5h", "2h45m30.5s", "10us", "10µs", "10μs", "100ns", "0.5s", "1h0m",
		"0s", "0ms", "0h0m", "0.0s", "5 minutes", "30", "1d", "-1s", "s", "", "1h 30m", "1H", "${{ inputs.timeout }}",
	} {
		d, err := time.ParseDuration(s)
		loader := err == nil && d > 0
		schema := sch.Validate(s) == nil
		if loader != schema {
			t.Errorf("duration %q: loader accepts = %v, JSON Schema accepts = %v", s, loader, schema)
		}
	}
	// Go also reads these; the schema is stricter on purpose (they are
	// unusual spellings), which editors show as a warning.
	for _, s := range []string{".5s", "1.s", "+1s"} {
		if sch.Validate(s) == nil {
			t.Errorf("duration %q: the schema accepts it; update the comment above", s)
		}
	}
	if err := sch.Validate(json.Number("30")); err == nil {
		t.Error("the schema accepts the number 30 as a duration; the loader wants a unit")
	}
}

// TestJSONSchemaInstanceConversion checks the YAML to JSON conversion the
// other tests rely on.
func TestJSONSchemaInstanceConversion(t *testing.T) {
	got, err := jsonSchemaInstance([]byte("a: 1\nb: 1.5\nc: [x, true, ~]\n1: one\nd: &x {e: f}\ng:\n  <<: *x\n  h: 2001-12-14\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": json.Number("1"), "b": json.Number("1.5"), "c": []any{"x", true, nil}, "1": "one",
		"d": map[string]any{"e": "f"}, "g": map[string]any{"e": "f", "h": "2001-12-14"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}
