package runs

import (
	"errors"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// TestRecordedInputsUnknownFirstByName: of several inputs given again
// that the runbook does not have, the error names the first by name,
// every time (not the first of a map's order).
func TestRecordedInputsUnknownFirstByName(t *testing.T) {
	rb := &schema.Runbook{Name: "refund"}
	given := map[string]string{"f": "1", "e": "1", "d": "1", "c": "1", "b": "1", "a": "1"}
	for range 20 {
		_, err := recordedInputs(rb, &journal.State{}, given)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Input != "a" || ie.Message != "--input a: refund has no such input" {
			t.Fatalf("error %v, want one naming input a", err)
		}
	}
}
