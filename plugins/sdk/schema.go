package sdk

import (
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/schema/dataschema"
)

// SchemaOf derives the JSON Schema of a Go type the way Action derives the
// schemas of its input and output, and Plugin those of its settings. The
// type must be a struct or a map with string keys, or a pointer to one.
// See the package documentation for the tags it reads.
func SchemaOf(t reflect.Type) (*dataschema.Schema, error) {
	d := &deriver{seen: map[reflect.Type]bool{}}
	return d.top(t)
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	durationType    = reflect.TypeFor[Duration]()
	rawType         = reflect.TypeFor[json.RawMessage]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextMarshaler]()
)

type deriver struct {
	// seen holds the struct types on the current path, to refuse
	// recursive types rather than recurse forever.
	seen map[reflect.Type]bool
}

// top derives the schema of an action's input or output or of settings:
// an object.
func (d *deriver) top(t reflect.Type) (*dataschema.Schema, error) {
	if t == nil {
		return nil, fmt.Errorf("the type is nil: use a struct")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct && t.Kind() != reflect.Map || t == timeType {
		return nil, fmt.Errorf("type %s must be a struct or a map with string keys: it is a JSON object", t)
	}
	return d.typeSchema(t, "")
}

// fieldError names the field a problem is about.
type fieldError struct {
	path  string // JSON path: payment.amount
	owner string // Go struct and field: GetPaymentInput.Amount
	msg   string
}

func (e *fieldError) Error() string {
	return fmt.Sprintf("field %q (%s): %s", e.path, e.owner, e.msg)
}

func (d *deriver) typeSchema(t reflect.Type, path string) (*dataschema.Schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return &dataschema.Schema{Type: types("string"), Format: "date-time"}, nil
	case t == durationType:
		return &dataschema.Schema{Type: types("string"), Format: "duration"}, nil
	case t == rawType:
		return &dataschema.Schema{}, nil
	case t.Kind() != reflect.Interface && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)):
		// The type chooses its own JSON: a string if it is text, else
		// anything.
		if t.Implements(textType) || reflect.PointerTo(t).Implements(textType) {
			return &dataschema.Schema{Type: types("string")}, nil
		}
		return &dataschema.Schema{}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &dataschema.Schema{Type: types("string")}, nil
	case reflect.Bool:
		return &dataschema.Schema{Type: types("boolean")}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &dataschema.Schema{Type: types("integer")}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		zero := 0.0
		return &dataschema.Schema{Type: types("integer"), Minimum: &zero}, nil
	case reflect.Float32, reflect.Float64:
		return &dataschema.Schema{Type: types("number")}, nil
	case reflect.Interface:
		if t.NumMethod() > 0 {
			return nil, fmt.Errorf("type %s is an interface with methods: JSON cannot be decoded into it; use any", t)
		}
		return &dataschema.Schema{}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return &dataschema.Schema{Type: types("string")}, nil // base64
		}
		items, err := d.typeSchema(t.Elem(), path+"[]")
		if err != nil {
			return nil, err
		}
		return &dataschema.Schema{Type: types("array"), Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("type %s is a map whose keys are not strings: JSON object keys are strings", t)
		}
		vals, err := d.typeSchema(t.Elem(), path+".*")
		if err != nil {
			return nil, err
		}
		return &dataschema.Schema{Type: types("object"), AdditionalProperties: vals}, nil
	case reflect.Struct:
		return d.structSchema(t, path)
	}
	return nil, fmt.Errorf("type %s cannot be JSON", t)
}

// structSchema is a closed object: its properties and nothing else. A
// field is required unless it is a pointer or its json tag says omitempty
// or omitzero.
func (d *deriver) structSchema(t reflect.Type, path string) (*dataschema.Schema, error) {
	if d.seen[t] {
		return nil, fmt.Errorf("type %s contains itself: recursive types are not supported", t)
	}
	d.seen[t] = true
	defer delete(d.seen, t)
	fields, err := jsonFields(t, path)
	if err != nil {
		return nil, err
	}
	s := &dataschema.Schema{Type: types("object"), Properties: map[string]*dataschema.Schema{}}
	for _, f := range fields {
		fs, err := d.fieldSchema(f)
		if err != nil {
			return nil, err
		}
		s.Properties[f.name] = fs
		if !f.optional {
			s.Required = append(s.Required, f.name)
		}
	}
	return s, nil
}

// field is a struct field as encoding/json sees it.
type field struct {
	name     string // JSON name
	path     string // JSON path from the top
	owner    string // Go type and field name
	typ      reflect.Type
	tag      reflect.StructTag
	optional bool
}

// jsonFields lists the fields encoding/json reads and writes, embedded
// structs flattened. Two fields with the same JSON name are an error:
// encoding/json would drop both silently.
func jsonFields(t reflect.Type, path string) ([]field, error) {
	var out []field
	seen := map[string]string{}
	var walk func(t reflect.Type, optional bool) error
	walk = func(t reflect.Type, optional bool) error {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if sf.Anonymous && name == "" {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct && et != timeType {
					if !sf.IsExported() && ft.Kind() == reflect.Pointer {
						continue // encoding/json cannot set it
					}
					if err := walk(et, optional || ft.Kind() == reflect.Pointer); err != nil {
						return err
					}
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := field{name: name, path: join(path, name), owner: t.Name() + "." + sf.Name, typ: ft, tag: sf.Tag, optional: optional}
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "omitempty", "omitzero":
					f.optional = true
				case "string":
					return &fieldError{f.path, f.owner, `the json option ",string" is not supported`}
				}
			}
			if ft.Kind() == reflect.Pointer {
				f.optional = true
			}
			if prev, dup := seen[name]; dup {
				return &fieldError{f.path, f.owner, fmt.Sprintf("%s has the same JSON name", prev)}
			}
			seen[name] = f.owner
			out = append(out, f)
		}
		return nil
	}
	return out, walk(t, false)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fieldSchema is the schema of a field's type with its tags applied.
func (d *deriver) fieldSchema(f field) (*dataschema.Schema, error) {
	s, err := d.typeSchema(f.typ, f.path)
	if err != nil {
		if _, ok := err.(*fieldError); ok {
			return nil, err
		}
		return nil, &fieldError{f.path, f.owner, err.Error()}
	}
	if err := applyTags(s, f.tag); err != nil {
		return nil, &fieldError{f.path, f.owner, err.Error()}
	}
	return s, nil
}

// applyTags applies a field's desc, enum, pattern, min, max, format and
// steward tags. The constraints apply to the value, or to each item of a
// list. A tag that does not fit the type is an error.
func applyTags(s *dataschema.Schema, tag reflect.StructTag) error {
	if desc, ok := tag.Lookup("desc"); ok {
		s.Description = desc
	}
	if v, ok := tag.Lookup("steward"); ok {
		for _, o := range strings.Split(v, ",") {
			switch strings.TrimSpace(o) {
			case "sensitive":
				s.Sensitive = true
			case "":
			default:
				return fmt.Errorf("steward tag %q: the only option is sensitive", o)
			}
		}
	}
	target := s
	for target.Items != nil {
		target = target.Items
	}
	kind := ""
	if len(target.Type) == 1 {
		kind = target.Type[0]
	}
	if v, ok := tag.Lookup("enum"); ok {
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			val, err := enumValue(kind, e)
			if err != nil {
				return err
			}
			target.Enum = append(target.Enum, val)
		}
	}
	if v, ok := tag.Lookup("pattern"); ok {
		if kind != "string" {
			return fmt.Errorf("pattern applies to strings, not to %s", kindName(kind))
		}
		if _, err := regexp.Compile(v); err != nil {
			return fmt.Errorf("pattern %q: %v", v, err)
		}
		target.Pattern = v
	}
	for _, b := range []struct {
		tag string
		dst **float64
	}{{"min", &target.Minimum}, {"max", &target.Maximum}} {
		v, ok := tag.Lookup(b.tag)
		if !ok {
			continue
		}
		if kind != "integer" && kind != "number" {
			return fmt.Errorf("%s applies to numbers, not to %s", b.tag, kindName(kind))
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return fmt.Errorf("%s %q is not a number", b.tag, v)
		}
		*b.dst = &f
	}
	if v, ok := tag.Lookup("format"); ok {
		if kind != "string" {
			return fmt.Errorf("format applies to strings, not to %s", kindName(kind))
		}
		if target.Format != "" && target.Format != v {
			return fmt.Errorf("format %q: the type's format is %q", v, target.Format)
		}
		target.Format = v
	}
	return nil
}

func enumValue(kind, v string) (any, error) {
	switch kind {
	case "string":
		return v, nil
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("enum value %q is not an integer", v)
		}
		return n, nil
	case "number":
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("enum value %q is not a number", v)
		}
		return n, nil
	}
	return nil, fmt.Errorf("enum applies to strings and numbers, not to %s", kindName(kind))
}

func kindName(kind string) string {
	if kind == "" {
		return "a value of any type"
	}
	return kind + "s"
}

func types(name string) dataschema.Types { return dataschema.Types{name} }

// sensitiveFields lists the top-level properties of an output schema that
// are, or contain, a sensitive field: the host redacts their whole value.
func sensitiveFields(s *dataschema.Schema) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		if hasSensitive(s.Properties[name]) {
			out = append(out, name)
		}
	}
	return out
}

func hasSensitive(s *dataschema.Schema) bool {
	if s == nil {
		return false
	}
	if s.Sensitive || hasSensitive(s.Items) || hasSensitive(s.AdditionalProperties) {
		return true
	}
	for _, p := range s.Properties {
		if hasSensitive(p) {
			return true
		}
	}
	return false
}
