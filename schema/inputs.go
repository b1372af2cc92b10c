package schema

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Check reports whether v is a valid value for the input: its type, enum,
// pattern and bounds. v is a Go value as decoded from YAML or JSON.
func (in *Input) Check(v any) error {
	if err := in.checkType(v); err != nil {
		return err
	}
	if len(in.Enum) > 0 {
		found := false
		for _, e := range in.Enum {
			if equalValues(e, v) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s is not one of %s", show(v), showList(in.Enum))
		}
	}
	if in.Pattern != nil {
		if s, ok := v.(string); ok && !in.Pattern.MatchString(s) {
			return fmt.Errorf("%s does not match pattern %s", show(v), in.Pattern)
		}
	}
	if f, ok := toFloat(v); ok {
		if in.Min != nil && f < *in.Min {
			return fmt.Errorf("%s is less than min %v", show(v), *in.Min)
		}
		if in.Max != nil && f > *in.Max {
			return fmt.Errorf("%s is greater than max %v", show(v), *in.Max)
		}
	}
	return nil
}

// checkType checks the Go type of v against the declared type.
func (in *Input) checkType(v any) error {
	ok := false
	switch in.Type {
	case TypeString:
		_, ok = v.(string)
	case TypeInteger:
		switch x := v.(type) {
		case int, int64:
			ok = true
		case float64:
			ok = x == math.Trunc(x) && math.Abs(x) < 1<<53
		}
	case TypeNumber:
		_, ok = toFloat(v)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeArray:
		_, ok = v.([]any)
	case TypeObject:
		_, ok = v.(map[string]any)
	}
	if !ok {
		return fmt.Errorf("%s is not %s", show(v), article(in.Type))
	}
	return nil
}

func article(t InputType) string {
	if t == TypeInteger || t == TypeArray || t == TypeObject {
		return "an " + string(t)
	}
	return "a " + string(t)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func equalValues(a, b any) bool {
	fa, oka := toFloat(a)
	fb, okb := toFloat(b)
	if oka && okb {
		return fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// show renders a value for a message: strings quoted, others as Go prints them.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(clip(x))
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprint(v)
}

func showList(vs []any) string {
	s := "["
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += show(v)
	}
	return s + "]"
}
