package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/schema"
)

// InputError is one problem with the inputs given to a run.
type InputError struct {
	Input   string
	Message string
	Hint    string
}

func (e *InputError) Error() string {
	if e.Input == "" {
		return e.Message
	}
	return "input " + e.Input + ": " + e.Message
}

// ParseInput converts the text of --input NAME=TEXT by the input's
// declared type: integers, numbers and booleans are parsed; arrays and
// objects are JSON; strings are taken as they are.
func ParseInput(in *schema.Input, text string) (any, error) {
	switch in.Type {
	case schema.TypeInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", text)
		}
		return int(n), nil
	case schema.TypeNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%q is not a number", text)
		}
		return f, nil
	case schema.TypeBoolean:
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "true", "yes", "1":
			return true, nil
		case "false", "no", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean: use true or false", text)
	case schema.TypeArray, schema.TypeObject:
		var v any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			return nil, fmt.Errorf("not valid JSON: %v", err)
		}
		return v, nil
	}
	return text, nil
}

// CheckInputs checks the inputs given to a run against the runbook's
// declarations and returns them with defaults applied and numbers in the
// types expressions expect (int for integer, float64 for number). It lists
// every problem, sorted by input name.
func CheckInputs(rb *schema.Runbook, given map[string]any) (map[string]any, []*InputError) {
	out := make(map[string]any, len(rb.Inputs))
	var errs []*InputError
	declared := map[string]bool{}
	var names []string
	for _, in := range rb.Inputs {
		declared[in.Name] = true
		names = append(names, in.Name)
		v, ok := given[in.Name]
		if !ok || v == nil {
			switch {
			case in.HasDefault:
				out[in.Name] = normalize(in, in.Default)
			case in.Required:
				errs = append(errs, &InputError{Input: in.Name, Message: "is required", Hint: describe(in)})
			default:
				out[in.Name] = nil
			}
			continue
		}
		v = normalize(in, v)
		if err := in.Check(v); err != nil {
			msg := err.Error()
			if in.Secret {
				msg = redactValue(msg, v)
			}
			errs = append(errs, &InputError{Input: in.Name, Message: msg, Hint: describe(in)})
			continue
		}
		out[in.Name] = v
	}
	var unknown []string
	for k := range given {
		if !declared[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		hint := schema.Suggest(k, names)
		if hint == "" && len(names) > 0 {
			hint = "inputs: " + strings.Join(names, ", ")
		} else if hint == "" {
			hint = "the runbook declares no inputs"
		} else {
			hint = "did you mean " + strconv.Quote(hint) + "?"
		}
		errs = append(errs, &InputError{Input: k, Message: "is not an input of " + rb.Name, Hint: hint})
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Input < errs[j].Input })
	return out, errs
}

// normalize converts numbers to the Go types expressions are compiled for.
func normalize(in *schema.Input, v any) any {
	switch in.Type {
	case schema.TypeInteger:
		switch x := v.(type) {
		case int64:
			return int(x)
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x)
			}
		case uint64:
			if x < math.MaxInt64 {
				return int(x)
			}
		}
	case schema.TypeNumber:
		switch x := v.(type) {
		case int:
			return float64(x)
		case int64:
			return float64(x)
		}
	}
	return v
}

func redactValue(msg string, v any) string {
	if s, ok := v.(string); ok && s != "" {
		msg = strings.ReplaceAll(msg, strconv.Quote(s), `"***"`)
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}

// describe says what an input takes, for hints.
func describe(in *schema.Input) string {
	var parts []string
	parts = append(parts, string(in.Type))
	if in.Pattern != nil {
		parts = append(parts, "matching "+in.Pattern.String())
	}
	if len(in.Enum) > 0 {
		var vs []string
		for _, e := range in.Enum {
			vs = append(vs, fmt.Sprint(e))
		}
		parts = append(parts, "one of "+strings.Join(vs, ", "))
	}
	s := strings.Join(parts, ", ")
	if in.Description != "" {
		s += ": " + in.Description
	}
	return s
}
