package httpaction

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/redact"
)

// TestStatusSnippetRedactedBeforeCut: the body quoted in a status error
// is redacted before it is cut at 200 characters and at the bytes read of
// it, and a secret holding line breaks (a YAML | block) is found on the
// snippet's one line.
func TestStatusSnippetRedactedBeforeCut(t *testing.T) {
	const secret = "Xsecret-Q7f9Lm2Pz8Rt4Wv6Yb1Nc3Hd5Jk0"
	const block = "Xblock-line-one\n  Xblock-line-two\n"
	bodies := map[string]string{
		"/quote": strings.Repeat("a", 190) + " " + secret,              // cut at 200 characters
		"/head":  strings.Repeat(" ", 4*snippetLen-12) + secret + " x", // cut at the bytes read
		"/nl":    "denied for " + block + "end",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		io.WriteString(w, bodies[r.URL.Path])
	}))
	t.Cleanup(srv.Close)
	set := &redact.Set{}
	set.Add(secret)
	set.Add(block)
	for path := range bodies {
		_, err := New(testUA).Execute(context.Background(), &actions.Request{Action: Name, Index: -1, Attempt: 1, Redact: set,
			With: map[string]any{"url": srv.URL + path}})
		ae := wantCode(t, err, CodeUnexpectedStatus, false)
		for _, s := range []string{secret, block} {
			for i := 0; i+4 <= len(s); i++ {
				if p := s[i : i+4]; strings.TrimSpace(p) == p && strings.Contains(ae.Message, p) {
					t.Errorf("%s: the message keeps %q of a secret: %q", path, p, ae.Message)
					break
				}
			}
		}
		if !strings.Contains(ae.Message, "***") {
			t.Errorf("%s: nothing redacted: %q", path, ae.Message)
		}
	}
}
