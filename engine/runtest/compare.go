package runtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/stewardhq/steward/engine"
	"reflect"
	"strconv"
	"strings"
)

// match compares a value with what was expected and describes every
// difference, each starting with its path. want is plain data in which an
// *Expression must be true of the value at its place; numbers compare by
// value; mappings must have the same keys and lists the same length.
// scope is bound to outputs in expressions.
func match(path string, want, got, scope any) []string {
	got = plain(got)
	switch w := want.(type) {
	case *Expression:
		v, err := w.Eval(got, scope)
		switch b, isBool := v.(bool); {
		case err != nil:
			return []string{fmt.Sprintf("%s: %s failed for %s: %s", path, w.Source, show(got), oneLine(err.Error()))}
		case !isBool:
			return []string{fmt.Sprintf("%s: %s yielded %s for %s, not true or false", path, w.Source, show(v), show(got))}
		case !b:
			return []string{fmt.Sprintf("%s: %s was false for %s", path, w.Source, show(got))}
		}
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
		}
		var out []string
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing, want %s", path, k, show(w[k])))
				continue
			}
			out = append(out, match(path+"."+k, w[k], gv, scope)...)
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: got %s, not expected", path, k, show(g[k])))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
		}
		var out []string
		for i := range w {
			out = append(out, match(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], scope)...)
		}
		return out
	}
	if !equal(want, got) {
		return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
	}
	return nil
}

// equal compares two scalars; numbers by value.
func equal(a, b any) bool {
	fa, okA := number(a)
	fb, okB := number(b)
	if okA || okB {
		return okA && okB && fa == fb
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// plain converts typed slices and string-keyed maps to []any and
// map[string]any, so that outputs of real actions compare like YAML data.
func plain(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, float64, map[string]any, []any:
		return v
	case engine.Unknown:
		return map[string]any{"unknown": x.Because()}
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = plain(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return v
		}
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out[it.Key().String()] = plain(it.Value().Interface())
		}
		return out
	}
	return v
}

// show renders a value in a message: JSON, expressions as written.
func show(v any) string {
	switch x := v.(type) {
	case *Expression:
		return x.Source
	case fmt.Stringer:
		return x.String()
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, strconv.Quote(k)+":"+show(x[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func keyList(m map[string]any) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(m), ", ")
}
