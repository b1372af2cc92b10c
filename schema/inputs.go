package schema

import (
	"fmt"
	"math"

	"github.com/stewardhq/steward/schema/dataschema"
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
			if dataschema.Equal(e, v) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s is not one of %s", dataschema.Show(v), dataschema.ShowList(in.Enum))
		}
	}
	if in.Pattern != nil {
		if s, ok := v.(string); ok && !in.Pattern.MatchString(s) {
			return fmt.Errorf("%s does not match pattern %s", dataschema.Show(v), in.Pattern)
		}
	}
	if f, ok := dataschema.Number(v); ok {
		if in.Min != nil && f < *in.Min {
			return fmt.Errorf("%s is less than min %v", dataschema.Show(v), *in.Min)
		}
		if in.Max != nil && f > *in.Max {
			return fmt.Errorf("%s is greater than max %v", dataschema.Show(v), *in.Max)
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
		_, ok = dataschema.Number(v)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeArray:
		_, ok = v.([]any)
	case TypeObject:
		_, ok = v.(map[string]any)
	}
	if !ok {
		return fmt.Errorf("%s is not %s", dataschema.Show(v), article(in.Type))
	}
	return nil
}

func article(t InputType) string {
	if t == TypeInteger || t == TypeArray || t == TypeObject {
		return "an " + string(t)
	}
	return "a " + string(t)
}
