package engine_test

import (
	"encoding/json"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine"
)

// TestErrorCodesAreStrings proves error codes, of type actions.Code, are
// the strings they always were: in the run's JSON document, and to
// expressions, where error.code compares with a string literal and
// yields a string.
func TestErrorCodesAreStrings(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: codes
steps:
  - id: a
    action: core.fail
    continue_on_error: true
    with: {message: declined, code: card_declined}
  - id: b
    action: core.set
    with:
      is: ${{ steps.a.error.code == "card_declined" }}
      code: ${{ steps.a.error.code }}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	b, err := json.Marshal(res.Step("a", engine.PhaseMain).Error)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"message":"declined","code":"card_declined","retryable":false,"step":"a"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	out := res.Step("b", engine.PhaseMain).Outputs.(map[string]any)
	if code, ok := out["code"].(string); out["is"] != true || !ok || code != "card_declined" {
		t.Errorf("expressions saw %#v", out)
	}
}
