package execaction

import (
	"context"
	"strings"
	"testing"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/redact"
)

// cutSecret is a secret that the tests below make exec cut through.
const cutSecret = "Xsecret-Q7f9Lm2Pz8Rt4Wv6Yb1Nc3Hd5Jk0"

// leaksPiece returns a piece of four characters of secret found in s.
func leaksPiece(s, secret string) string {
	for i := 0; i+4 <= len(secret); i++ {
		if strings.Contains(s, secret[i:i+4]) {
			return secret[i : i+4]
		}
	}
	return ""
}

// runRedacted executes exec as the engine does, with the run's secrets.
func runRedacted(t *testing.T, with map[string]any) (map[string]any, error) {
	t.Helper()
	set := &redact.Set{}
	set.Add(cutSecret)
	return New().Execute(context.Background(), &actions.Request{Action: Name, With: with, Index: -1, Attempt: 1, Redact: set})
}

// TestStderrQuoteRedactedBeforeCut: the message of a failed program quotes
// the last line of stderr up to 200 characters; a secret crossing the
// 200th character is redacted before the cut, not cut into a start that
// redaction no longer finds.
func TestStderrQuoteRedactedBeforeCut(t *testing.T) {
	_, err := runRedacted(t, map[string]any{
		"command": cmd("sh", "-c", `printf '%0190d %s\n' 0 "$S" >&2; exit 3`),
		"env":     map[string]any{"S": cutSecret},
	})
	ae := wantCode(t, err, CodeExitStatus, false)
	if p := leaksPiece(ae.Message, cutSecret); p != "" || !strings.Contains(ae.Message, "***") {
		t.Fatalf("the message keeps %q of the secret: %q", p, ae.Message)
	}
}

// TestStderrQuoteCutAtItsStart: a last line longer than the tail kept of
// stderr starts inside a secret: the end of the secret is masked.
func TestStderrQuoteCutAtItsStart(t *testing.T) {
	_, err := runRedacted(t, map[string]any{
		"command": cmd("sh", "-c", `printf 'AAAAAAAAAA%s' "$S" >&2; printf '%04070d' 0 >&2; exit 3`),
		"env":     map[string]any{"S": cutSecret},
	})
	ae := wantCode(t, err, CodeExitStatus, false)
	if p := leaksPiece(ae.Message, cutSecret); p != "" || !strings.Contains(ae.Message, "…***") {
		t.Fatalf("the message keeps %q of the secret: %q", p, ae.Message)
	}
}

// TestMaxOutputKeepsNoStartOfSecret: output cut at max_output through a
// secret does not keep its start.
func TestMaxOutputKeepsNoStartOfSecret(t *testing.T) {
	out, err := runRedacted(t, map[string]any{
		"command":    cmd("sh", "-c", `printf 'token: %s\n' "$S"; printf 'err: %s\n' "$S" >&2`),
		"env":        map[string]any{"S": cutSecret},
		"max_output": 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out["stdout"] != "token: ***" || out["stderr"] != "err: ***" || out["truncated"] != true {
		t.Fatalf("outputs %v", out)
	}
}
