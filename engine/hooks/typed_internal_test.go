package hooks

import (
	"errors"
	"testing"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
)

// TestTypedErrorsByName: every input a hook's payload gives as a text
// that is not of the input's type is named, in the order of the names,
// every time (not in a map's order).
func TestTypedErrorsByName(t *testing.T) {
	rb := &schema.Runbook{Name: "refund"}
	inputs := map[string]any{}
	for _, name := range []string{"f", "e", "d", "c", "b", "a"} {
		rb.Inputs = append(rb.Inputs, &schema.Input{Name: name, Type: schema.TypeInteger})
		inputs[name] = "many"
	}
	for range 20 {
		_, err := typed(&runs.Plan{Runbook: rb}, inputs)
		var ie *engine.InputsError
		if !errors.As(err, &ie) || len(ie.Errors) != 6 {
			t.Fatalf("error %v, want one per input", err)
		}
		for i, e := range ie.Errors {
			if want := string(rune('a' + i)); e.Input != want {
				t.Fatalf("error %d names %s, want %s: %v", i, e.Input, want, err)
			}
		}
	}
}
