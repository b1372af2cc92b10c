package plugins

import (
	"context"
	"strings"
	"testing"
)

// TestOutputsAreCheckedOnTheWayBack: outputs that do not fit the schema a
// plugin declares for the action fail the call, not retryable, saying
// which field and why; a sensitive field's value is not quoted; a null
// fits (a value the plugin did not set).
func TestOutputsAreCheckedOnTheWayBack(t *testing.T) {
	h := install(t, faultyBin, Options{}, "mistyped")
	ctx := context.Background()
	_, _, err := call(ctx, act(t, h, "mistyped.ok"), map[string]any{"value": "x"})
	wantCode(t, err, CodeInvalidOutput, false,
		"plugin mistyped: mistyped.ok returned outputs that do not fit its declared output schema: outputs.value must be a string, got an integer (steward plugins describe mistyped)")
	_, _, err = call(ctx, act(t, h, "mistyped.mutate"), map[string]any{"value": "x"})
	wantCode(t, err, CodeInvalidOutput, false, `outputs: unknown field "extra"`)
	_, _, err = call(ctx, act(t, h, "mistyped.secret"), nil)
	wantCode(t, err, CodeInvalidOutput, false, "outputs.token does not fit (a sensitive field: its value is not shown)")
	if strings.Contains(err.Error(), "12345") {
		t.Errorf("the sensitive value is in the message: %v", err)
	}
	out, _, err := call(ctx, act(t, h, "mistyped.env"), nil)
	if err != nil || len(out) != 1 || out["env"] != nil {
		t.Errorf("a null output: %v %v", out, err)
	}
	// The same plugin answering as declared passes.
	if out, _, err := call(ctx, act(t, h, "mistyped.big"), map[string]any{"bytes": 3}); err != nil || out["data"] != "xxx" {
		t.Errorf("big: %v %v", out, err)
	}
}
