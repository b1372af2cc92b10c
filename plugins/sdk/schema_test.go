package sdk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/schema/dataschema"
)

type address struct {
	Chain string `json:"chain" enum:"ethereum,bitcoin"`
	Value string `json:"value" pattern:"^0x[0-9a-f]+$"`
}

type Common struct {
	Note string `json:"note,omitempty" desc:"a note"`
}

type sample struct {
	Common
	Name    string            `json:"name" desc:"who asks"`
	Count   int               `json:"count" min:"1" max:"10"`
	Small   uint8             `json:"small,omitempty"`
	Ratio   float64           `json:"ratio,omitempty"`
	On      bool              `json:"on"`
	Tags    []string          `json:"tags,omitempty" enum:"a,b"`
	Labels  map[string]string `json:"labels,omitempty"`
	Addr    address           `json:"addr"`
	Maybe   *address          `json:"maybe"`
	Any     any               `json:"any,omitempty"`
	Raw     json.RawMessage   `json:"raw,omitempty"`
	When    time.Time         `json:"when"`
	Wait    Duration          `json:"wait,omitempty"`
	Token   string            `json:"token" steward:"sensitive"`
	Level   int               `json:"level,omitempty" enum:"1,2,3"`
	Blob    []byte            `json:"blob,omitempty"`
	Ignored string            `json:"-"`
	hidden  string            //nolint:unused // unexported fields are left out
	NoTag   string
}

var _ = sample{hidden: "not in the schema"}

const sampleSchema = `{
  "type": "object",
  "properties": {
    "NoTag": {"type": "string"},
    "addr": {
      "type": "object",
      "properties": {
        "chain": {"type": "string", "enum": ["ethereum", "bitcoin"]},
        "value": {"type": "string", "pattern": "^0x[0-9a-f]+$"}
      },
      "required": ["chain", "value"]
    },
    "any": {},
    "blob": {"type": "string"},
    "count": {"type": "integer", "minimum": 1, "maximum": 10},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "level": {"type": "integer", "enum": [1, 2, 3]},
    "maybe": {
      "type": "object",
      "properties": {
        "chain": {"type": "string", "enum": ["ethereum", "bitcoin"]},
        "value": {"type": "string", "pattern": "^0x[0-9a-f]+$"}
      },
      "required": ["chain", "value"]
    },
    "name": {"type": "string", "description": "who asks"},
    "note": {"type": "string", "description": "a note"},
    "on": {"type": "boolean"},
    "ratio": {"type": "number"},
    "raw": {},
    "small": {"type": "integer", "minimum": 0},
    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
    "token": {"type": "string", "x-sensitive": true},
    "wait": {"type": "string", "format": "duration"},
    "when": {"type": "string", "format": "date-time"}
  },
  "required": ["name", "count", "on", "addr", "when", "token", "NoTag"]
}`

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestSchemaOfARepresentativeStruct(t *testing.T) {
	s, err := SchemaOf(reflect.TypeFor[sample]())
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := compact(t, sampleSchema); string(got) != want {
		t.Fatalf("schema\n got %s\nwant %s", got, want)
	}

	// What the host reads back.
	var d dataschema.Schema
	if err := json.Unmarshal(got, &d); err != nil {
		t.Fatalf("the host cannot read the schema: %v", err)
	}
	if d.Type[0] != "object" || len(d.Properties) != 18 || d.AdditionalProperties != nil {
		t.Errorf("top: %+v", d)
	}
	if c := d.Properties["count"]; *c.Minimum != 1 || *c.Maximum != 10 || c.Type[0] != "integer" {
		t.Errorf("count: %+v", c)
	}
	if !d.Properties["token"].Sensitive || d.Properties["wait"].Format != "duration" || d.Properties["name"].Description != "who asks" {
		t.Errorf("token, wait, name: %+v %+v %+v", d.Properties["token"], d.Properties["wait"], d.Properties["name"])
	}
	if l := d.Properties["labels"]; l.AdditionalProperties == nil || l.AdditionalProperties.Type[0] != "string" {
		t.Errorf("labels: %+v", l)
	}
	if tg := d.Properties["tags"]; tg.Items == nil || len(tg.Items.Enum) != 2 {
		t.Errorf("tags: %+v", tg)
	}

	// The host's checks with it: a closed object, required fields,
	// ranges, enums in lists, durations.
	ok := map[string]any{"name": "n", "count": 3.0, "on": false, "when": "2026-01-02T03:04:05Z", "token": "t", "NoTag": "",
		"addr": map[string]any{"chain": "bitcoin", "value": "0xab"}, "tags": []any{"a"}, "wait": "1m", "level": 2.0}
	if err := d.Check(ok); err != nil {
		t.Errorf("a valid value: %v", err)
	}
	for change, want := range map[string]string{
		`{"extra": 1}`:     `with: unknown field "extra"`,
		`{"count": 11}`:    "with.count must be at most 10, got 11",
		`{"tags": ["c"]}`:  `with.tags[0] must be one of ["a", "b"], got "c"`,
		`{"wait": "soon"}`: `with.wait: invalid duration "soon"`,
		`{"addr": {"chain": "bitcoin", "value": "0xab", "x": 1}}`: `with.addr: unknown field "x"`,
		`{"level": 4}`: "with.level must be one of [1, 2, 3], got 4",
	} {
		v := map[string]any{}
		for k, x := range ok {
			v[k] = x
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(change), &m); err != nil {
			t.Fatal(err)
		}
		for k, x := range m {
			v[k] = x
		}
		if err := d.Check(v); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %s", change, err, want)
		}
	}
}

func TestSchemaOfMapsAndPointers(t *testing.T) {
	for _, c := range []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[map[string]any](), `{"type":"object","additionalProperties":{}}`},
		{reflect.TypeFor[*struct {
			A *int `json:"a"`
		}](), `{"type":"object","properties":{"a":{"type":"integer"}}}`},
		{reflect.TypeFor[struct{}](), `{"type":"object"}`},
		{reflect.TypeFor[struct {
			*Common
			IDs [2]int64 `json:"ids" desc:"two ids" min:"1"`
		}](), `{"type":"object","properties":{"ids":{"type":"array","description":"two ids","items":{"type":"integer","minimum":1}},"note":{"type":"string","description":"a note"}},"required":["ids"]}`},
	} {
		s, err := SchemaOf(c.typ)
		if err != nil {
			t.Errorf("%s: %v", c.typ, err)
			continue
		}
		if got, _ := json.Marshal(s); string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.typ, got, c.want)
		}
	}
}

type tree struct {
	Name     string `json:"name"`
	Children []tree `json:"children"`
}

type named interface{ Name() string }

func TestUnsupportedTypesAreRefused(t *testing.T) {
	for _, c := range []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[int](), "type int must be a struct or a map with string keys: it is a JSON object"},
		{reflect.TypeFor[[]string](), "type []string must be a struct or a map with string keys"},
		{reflect.TypeFor[struct {
			Events chan int `json:"events"`
		}](), `field "events" (.Events): type chan int cannot be JSON`},
		{reflect.TypeFor[struct {
			Inner struct {
				Do func() `json:"do"`
			} `json:"inner"`
		}](), `field "inner.do" (.Do): type func() cannot be JSON`},
		{reflect.TypeFor[struct {
			Z complex128 `json:"z"`
		}](), `field "z" (.Z): type complex128 cannot be JSON`},
		{reflect.TypeFor[struct {
			M map[int]string `json:"m"`
		}](), `field "m" (.M): type map[int]string is a map whose keys are not strings`},
		{reflect.TypeFor[struct {
			N named `json:"n"`
		}](), `field "n" (.N): type sdk.named is an interface with methods`},
		{reflect.TypeFor[tree](), `field "children" (tree.Children): type sdk.tree contains itself: recursive types are not supported`},
		{reflect.TypeFor[struct {
			N int `json:"n,string"`
		}](), `field "n" (.N): the json option ",string" is not supported`},
		{reflect.TypeFor[struct {
			N int `json:"n" pattern:"^1"`
		}](), `field "n" (.N): pattern applies to strings, not to integers`},
		{reflect.TypeFor[struct {
			S string `json:"s" min:"1"`
		}](), `field "s" (.S): min applies to numbers, not to strings`},
		{reflect.TypeFor[struct {
			N int `json:"n" enum:"1,two"`
		}](), `field "n" (.N): enum value "two" is not an integer`},
		{reflect.TypeFor[struct {
			S string `json:"s" pattern:"(["`
		}](), `field "s" (.S): pattern "([": error parsing regexp`},
		{reflect.TypeFor[struct {
			S string `json:"s" steward:"secret"`
		}](), `field "s" (.S): steward tag "secret": the only option is sensitive`},
		{reflect.TypeFor[struct {
			Common
			Note string `json:"note"`
		}](), `field "note" (.Note): Common.Note has the same JSON name`},
	} {
		_, err := SchemaOf(c.typ)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.typ, err, c.want)
		}
	}
}

func TestSensitiveFields(t *testing.T) {
	type creds struct {
		User     string `json:"user"`
		Password string `json:"password" steward:"sensitive"`
	}
	s, err := SchemaOf(reflect.TypeFor[struct {
		ID    string   `json:"id"`
		Token string   `json:"token" steward:"sensitive"`
		Login creds    `json:"login"`
		Keys  []string `json:"keys" steward:"sensitive"`
	}]())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sensitiveFields(s), ","); got != "keys,login,token" {
		t.Errorf("sensitive: %s", got)
	}
}

func TestDuration(t *testing.T) {
	var v struct {
		D Duration `json:"d"`
	}
	if err := json.Unmarshal([]byte(`{"d":"1m30s"}`), &v); err != nil || v.D.Std() != 90*time.Second {
		t.Fatalf("%v %v", v.D, err)
	}
	if b, _ := json.Marshal(v); string(b) != `{"d":"1m30s"}` {
		t.Errorf("marshal: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"d":"soon"}`), &v); err == nil || !strings.Contains(err.Error(), `invalid duration "soon"`) {
		t.Errorf("soon: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"d":5}`), &v); err == nil || !strings.Contains(err.Error(), "a duration is a string") {
		t.Errorf("5: %v", err)
	}
}
