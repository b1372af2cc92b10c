package engine_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	execaction "github.com/stewardhq/steward/actions/exec"
	httpaction "github.com/stewardhq/steward/actions/http"
	"github.com/stewardhq/steward/engine"
)

// The secrets of TestSecretFormsInRealActions: a token, and a key given as
// a YAML | block (inner line breaks, indentation, a trailing line break).
const (
	formsToken = "Xtok-Q7f9Lm2Pz8Rt4Wv6Yb1Nc3Hd5Jk0"
	formsKey   = "Xkey-first-line\n  Xkey-second\n"
)

const formsRunbook = `version: 1
name: forms
inputs:
  token: {type: string, secret: true, required: true}
  base: {type: string, required: true}
steps:
  - id: basic
    continue_on_error: true
    action: http.request
    with:
      url: ${{ inputs.base }}/echo
      headers: {Authorization: '${{ "Basic " + toBase64("support:" + inputs.token) }}'}
  - id: hexed
    action: exec
    with:
      command: [sh, -c, 'printf %s "$T" | od -An -v -tx1 | tr -d " \n"']
      env: {T: '${{ inputs.token }}'}
  - id: cut
    continue_on_error: true
    action: exec
    with:
      command: [sh, -c, 'printf "%0190d %s\n" 0 "$T" >&2; exit 3']
      env: {T: '${{ inputs.token }}'}
  - id: lines
    continue_on_error: true
    action: exec
    with:
      command: [sh, -c, 'printf %s "$K" >&2; exit 1']
      env: {K: '${{ secret("key") }}'}
  - id: query
    continue_on_error: true
    action: http.request
    with:
      url: ${{ inputs.base }}/echo
      query: {k: '${{ secret("key") }}'}
`

// TestSecretFormsInRealActions: what exec and http.request make of a
// secret reaches no event: its base64 in a Basic header (in the recorded
// with and quoted back by a server), its hex in an output, its start
// where a 200-character quote of stderr cuts it, and a multi-line
// secret's last line (quoted from stderr) and its one-line form (quoted
// from a body).
func TestSecretFormsInRealActions(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "rejected "+r.Header.Get("Authorization")+r.URL.Query().Get("k"))
	}))
	defer srv.Close()
	clock := clockwork.NewRealClock()
	reg := registry(t, clock, execaction.New(), httpaction.New("test"))
	rb := load(t, reg, formsRunbook)
	rec := &recorder{}
	res := run(t, rb, reg, map[string]any{"token": formsToken, "base": srv.URL}, engine.Options{Sink: rec,
		Secret: func(name string) (string, bool) { return formsKey, name == "key" }})
	if got := statuses(res); got != "basic=failed hexed=succeeded cut=failed lines=failed query=failed" {
		t.Fatalf("steps %s: %+v", got, res.Error)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte("support:" + formsToken))
	forbidden := []string{"Xtok", "Xkey", b64[12:30], hex.EncodeToString([]byte(formsToken))[:20], formsToken[:8]}
	check := func(what string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forbidden {
			if strings.Contains(string(b), f) {
				t.Errorf("%s holds %q: %s", what, f, b)
			}
		}
	}
	rec.mu.Lock()
	for _, e := range rec.events {
		check(string(e.Type)+" "+e.Step, e)
	}
	rec.mu.Unlock()
	check("the redacted result", res.Redacted())
	if m := res.Step("cut", "").Error.Message; !strings.Contains(res.Redacted().Step("cut", "").Error.Message, "***") {
		t.Errorf("the quote of stderr cut through the secret: %q", m)
	}
}
