package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/schema"
)

// The secrets of these tests. Each holds a distinctive core, so that a leak
// of any form of it (raw, JSON-escaped, inside a longer string) is found by
// grepping for the core. The api secret holds characters JSON escapes.
const (
	inputSecret    = "in-Xinputsecret-1"
	apiSecret      = `ap"<Xapisecret>&i`
	passwordSecret = "pw-Xpassword-3"
)

var secretCores = []string{"Xinputsecret", "Xapisecret", "Xpassword"}

// sensitiveAct is an action whose password output is a secret.
func sensitiveAct(name string, fn func(ctx context.Context, req *actions.Request) (map[string]any, error)) *testAction {
	return &testAction{spec: actions.Spec{Name: name, Input: &schema.DataSchema{Type: schema.Types{"object"}},
		Sensitive: []string{"password"}}, fn: fn}
}

func apiSecretFunc(name string) (string, bool) { return apiSecret, name == "api" }

// leaks returns the secret cores found in the JSON of v.
func leaks(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, c := range secretCores {
		if bytes.Contains(b, []byte(c)) {
			found = append(found, c)
		}
	}
	return found
}

// assertNoLeak fails for every recorded event holding a secret.
func assertNoLeak(t *testing.T, rec *recorder) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.events) == 0 {
		t.Fatal("no events")
	}
	for _, e := range rec.events {
		if found := leaks(t, e); len(found) > 0 {
			b, _ := json.Marshal(e)
			t.Errorf("%s of %q leaks %v: %s", e.Type, e.Step, found, b)
		}
	}
}

// firstEvent returns the first recorded event of the type and step.
func firstEvent(r *recorder, typ engine.EventType, step string, phase engine.Phase) *engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Type == typ && e.Step == step && e.Phase == phase {
			return e
		}
	}
	return nil
}

const secretsRunbook = `version: 1
name: secrets
inputs:
  token: {type: string, secret: true, required: true}
  who: {type: string, default: ana}
steps:
  - id: use
    name: 'Use ${{ inputs.token }}'
    action: test.use
    with:
      token: ${{ inputs.token }}
      api: ${{ secret("api") }}
      who: ${{ inputs.who }}
  - id: issue
    action: test.issue
  - id: echo
    action: core.set
    with:
      token: ${{ inputs.token }}
      api: ${{ secret("api") }}
      password: ${{ steps.issue.outputs.password }}
      id: ${{ steps.issue.outputs.id }}
outputs:
  password: ${{ steps.issue.outputs.password }}
  api: ${{ secret("api") }}
  id: ${{ steps.issue.outputs.id }}
`

func secretsRegistry(t *testing.T, used *atomic.Int32) *actions.Registry {
	use := act("test.use", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		if req.With["token"] != inputSecret || req.With["api"] != apiSecret {
			t.Errorf("the action got %v, not the real secrets", req.With)
		}
		used.Add(1)
		req.Log("info", "calling with "+req.With["token"].(string)+" and "+req.With["api"].(string))
		return map[string]any{"echo": req.With["token"]}, nil
	})
	issue := sensitiveAct("test.issue", func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		return map[string]any{"password": passwordSecret, "id": "user-7"}, nil
	})
	return registry(t, clockwork.NewRealClock(), use, issue)
}

// TestSecretsNeverReachTheSink proves a secret input, a secret() value
// and a sensitive output appear in no event, in any field, while the
// actions get the real values.
func TestSecretsNeverReachTheSink(t *testing.T) {
	var used atomic.Int32
	reg := secretsRegistry(t, &used)
	rb := load(t, reg, secretsRunbook)
	rec := &recorder{}
	res := run(t, rb, reg, map[string]any{"token": inputSecret}, engine.Options{Sink: rec, Secret: apiSecretFunc})
	if res.Status != engine.StatusSucceeded || used.Load() != 1 {
		t.Fatalf("status %s %+v, used %d", res.Status, res.Error, used.Load())
	}
	assertNoLeak(t, rec)

	start := firstEvent(rec, engine.RunStarted, "", "")
	if start.Inputs["token"] != "***" || start.Inputs["who"] != "ana" {
		t.Errorf("run.started inputs %v", start.Inputs)
	}
	if e := firstEvent(rec, engine.StepStarted, "use", ""); e.Name != "Use ***" {
		t.Errorf("step.started name %q", e.Name)
	}
	if e := firstEvent(rec, engine.StepLog, "use", ""); e.Message != "calling with *** and ***" {
		t.Errorf("step.log %q", e.Message)
	}
	if e := firstEvent(rec, engine.AttemptStarted, "use", ""); !reflect.DeepEqual(e.With, map[string]any{"token": "***", "api": "***", "who": "ana"}) {
		t.Errorf("attempt.started with %v", e.With)
	}
	if e := firstEvent(rec, engine.StepFinished, "issue", ""); !reflect.DeepEqual(e.Outputs, map[string]any{"password": "***", "id": "user-7"}) {
		t.Errorf("step.finished outputs %v", e.Outputs)
	}
	if e := firstEvent(rec, engine.RunFinished, "", ""); !reflect.DeepEqual(e.Outputs, map[string]any{"password": "***", "api": "***", "id": "user-7"}) {
		t.Errorf("run.finished outputs %v", e.Outputs)
	}
	// The document keeps the real values, for sub-runs and the caller.
	if out := res.Step("echo", "").Outputs.(map[string]any); out["token"] != inputSecret || out["api"] != apiSecret || out["password"] != passwordSecret {
		t.Errorf("the result lost the real values: %v", out)
	}
}

// TestSecretsInsideStrings proves a secret is redacted inside a longer
// string, inside JSON text carried in a string (escaped as JSON escapes
// it), and inside an action's error message.
func TestSecretsInsideStrings(t *testing.T) {
	var got atomic.Value
	call := act("test.call", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		got.Store(req.With["header"])
		body, err := json.Marshal(map[string]any{"token": req.With["api"]})
		if err != nil {
			return nil, err
		}
		return map[string]any{"body": string(body)}, nil
	})
	reject := act("test.reject", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		return nil, errf("unauthorized", false, "token %s was rejected (%s)", req.With["api"], req.With["token"])
	})
	reg := registry(t, clockwork.NewRealClock(), call, reject)
	rb := load(t, reg, `version: 1
name: inside
inputs:
  token: {type: string, secret: true, required: true}
steps:
  - id: set
    action: core.set
    with:
      text: "token=${{ secret('api') }}"
      json: '{"auth": "${{ inputs.token }}", "n": 1}'
  - id: call
    action: test.call
    with: {header: 'Bearer ${{ secret("api") }}', api: '${{ secret("api") }}'}
  - id: reject
    action: test.reject
    with: {api: '${{ secret("api") }}', token: '${{ inputs.token }}'}
`)
	rec := &recorder{}
	res := run(t, rb, reg, map[string]any{"token": inputSecret}, engine.Options{Sink: rec, Secret: apiSecretFunc})
	if got.Load() != "Bearer "+apiSecret {
		t.Errorf("the action got header %q", got.Load())
	}
	if res.Status != engine.StatusFailed || res.Error.Code != "unauthorized" {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	assertNoLeak(t, rec)

	if e := firstEvent(rec, engine.AttemptStarted, "set", ""); !reflect.DeepEqual(e.With, map[string]any{"text": "token=***", "json": `{"auth": "***", "n": 1}`}) {
		t.Errorf("set with %v", e.With)
	}
	if e := firstEvent(rec, engine.StepFinished, "call", ""); !reflect.DeepEqual(e.Outputs, map[string]any{"body": `{"token":"***"}`}) {
		t.Errorf("call outputs %v", e.Outputs)
	}
	const msg = "token *** was rejected (***)"
	for _, typ := range []engine.EventType{engine.AttemptFailed, engine.StepFinished} {
		if e := firstEvent(rec, typ, "reject", ""); e.Error == nil || e.Error.Message != msg {
			t.Errorf("%s error %+v", typ, e.Error)
		}
	}
	if e := firstEvent(rec, engine.RunFinished, "", ""); e.Error == nil || e.Error.Message != msg {
		t.Errorf("run.finished error %+v", e.Error)
	}
	// The real message stays in the document.
	if want := "token " + apiSecret + " was rejected (" + inputSecret + ")"; res.Error.Message != want {
		t.Errorf("result error %q", res.Error.Message)
	}
}

// TestResultRedacted proves Redacted hides every secret of the document
// (inputs, outputs, step names, step outputs and errors) and leaves the
// document itself as it was.
func TestResultRedacted(t *testing.T) {
	issue := sensitiveAct("test.issue", func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		return map[string]any{"password": passwordSecret}, nil
	})
	reg := registry(t, clockwork.NewRealClock(), issue)
	rb := load(t, reg, `version: 1
name: doc
inputs:
  token: {type: string, secret: true, required: true}
  who: {type: string, default: ana}
steps:
  - id: issue
    name: 'Issue for ${{ inputs.token }}'
    action: test.issue
  - id: set
    action: core.set
    with: {all: '${{ inputs.token }}/${{ secret("api") }}/${{ steps.issue.outputs.password }}'}
  - id: fail
    action: core.fail
    with: {message: 'bad ${{ secret("api") }}'}
outputs:
  all: ${{ steps.set.outputs.all }}
`)
	res := run(t, rb, reg, map[string]any{"token": inputSecret}, engine.Options{Secret: apiSecretFunc})
	if res.Status != engine.StatusFailed {
		t.Fatalf("status %s", res.Status)
	}
	before, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if found := leaks(t, res); len(found) != len(secretCores) {
		t.Fatalf("the document itself should keep the real values, has only %v", found)
	}

	red := res.Redacted()
	if found := leaks(t, red); len(found) > 0 {
		b, _ := json.Marshal(red)
		t.Errorf("Redacted leaks %v: %s", found, b)
	}
	if red.Inputs["token"] != "***" || red.Inputs["who"] != "ana" {
		t.Errorf("redacted inputs %v", red.Inputs)
	}
	if got := red.Step("set", "").Outputs.(map[string]any)["all"]; got != "***/***/***" {
		t.Errorf("redacted set outputs %v", got)
	}
	if got := red.Step("issue", "").Name; got != "Issue for ***" {
		t.Errorf("redacted name %q", got)
	}
	if red.Error.Message != "bad ***" || red.Step("fail", "").Error.Message != "bad ***" {
		t.Errorf("redacted errors %q, %q", red.Error.Message, red.Step("fail", "").Error.Message)
	}

	after, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("Redacted changed the document:\nbefore %s\nafter  %s", before, after)
	}
	if res.Inputs["token"] != inputSecret || res.Error.Message != "bad "+apiSecret || res.Step("issue", "").Name != "Issue for "+inputSecret {
		t.Errorf("the document lost its values: %v %q", res.Inputs, res.Error.Message)
	}
}

// TestSensitiveOutputRedactedDownstream proves the value of a sensitive
// output is a secret from then on: a later step that uses it in its with
// shows it redacted in its attempt.started, inside a longer string too,
// while the later action gets the real value.
func TestSensitiveOutputRedactedDownstream(t *testing.T) {
	issue := sensitiveAct("test.issue", func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		return map[string]any{"password": passwordSecret, "user": "bob"}, nil
	})
	var got atomic.Value
	login := act("test.login", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		got.Store(req.With["password"])
		return nil, nil
	})
	reg := registry(t, clockwork.NewRealClock(), issue, login)
	rb := load(t, reg, `version: 1
name: downstream
steps:
  - id: issue
    action: test.issue
    outputs:
      secret: ${{ result.password }}
      user: ${{ result.user }}
  - id: login
    action: test.login
    with:
      user: ${{ steps.issue.outputs.user }}
      password: ${{ steps.issue.outputs.secret }}
      url: 'https://db.test/?user=${{ steps.issue.outputs.user }}&pw=${{ steps.issue.outputs.secret }}'
`)
	rec := &recorder{}
	res := run(t, rb, reg, nil, engine.Options{Sink: rec})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if got.Load() != passwordSecret {
		t.Errorf("the later action got %q", got.Load())
	}
	assertNoLeak(t, rec)
	want := map[string]any{"user": "bob", "password": "***", "url": "https://db.test/?user=bob&pw=***"}
	if e := firstEvent(rec, engine.AttemptStarted, "login", ""); !reflect.DeepEqual(e.With, want) {
		t.Errorf("login attempt.started with %v, want %v", e.With, want)
	}
	// Renamed by outputs, it is redacted all the same.
	if e := firstEvent(rec, engine.StepFinished, "issue", ""); !reflect.DeepEqual(e.Outputs, map[string]any{"secret": "***", "user": "bob"}) {
		t.Errorf("issue outputs %v", e.Outputs)
	}
	if s := strings.Join(rec.lines(), ","); !strings.HasPrefix(s, "run.started,") {
		t.Errorf("events %s", s)
	}
}

// TestNonStringSecrets proves secrets that are not strings are redacted
// too: a secret input of type integer, and sensitive outputs holding a
// number or an object.
func TestNonStringSecrets(t *testing.T) {
	issue := sensitiveAct("test.issue", func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		return map[string]any{"password": map[string]any{"user": "u-Xpassword-user", "pass": passwordSecret}, "pin": 987123}, nil
	})
	issue.spec.Sensitive = []string{"password", "pin"}
	reg := registry(t, clockwork.NewRealClock(), issue)
	rb := load(t, reg, `version: 1
name: nonstring
inputs:
  code: {type: integer, secret: true, required: true}
steps:
  - id: issue
    action: test.issue
  - id: use
    action: core.set
    with:
      code: ${{ inputs.code }}
      pin: ${{ steps.issue.outputs.pin }}
      pass: ${{ steps.issue.outputs.password.pass }}
      text: 'code ${{ inputs.code }} pin ${{ steps.issue.outputs.pin }}'
`)
	rec := &recorder{}
	res := run(t, rb, reg, map[string]any{"code": 4242987}, engine.Options{Sink: rec})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if out := res.Step("use", "").Outputs.(map[string]any); out["code"] != 4242987 || out["pin"] != 987123 || out["pass"] != passwordSecret {
		t.Errorf("the step did not get the real values: %v", out)
	}
	assertNoLeak(t, rec)
	numbers := func(what string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"4242987", "987123"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s leaks %s: %s", what, s, b)
			}
		}
	}
	rec.mu.Lock()
	for _, e := range rec.events {
		numbers(string(e.Type)+" of "+e.Step, e)
	}
	rec.mu.Unlock()
	red := res.Redacted()
	if found := leaks(t, red); len(found) > 0 {
		t.Errorf("Redacted leaks %v", found)
	}
	numbers("Redacted", red)
	if want := map[string]any{"code": "***", "pin": "***", "pass": "***", "text": "code *** pin ***"}; !reflect.DeepEqual(red.Step("use", "").Outputs, want) {
		t.Errorf("redacted use outputs %v", red.Step("use", "").Outputs)
	}
}

// TestSecretsInReasons proves a secret is redacted in what a step says
// instead of running: an approval's message (shown in step.waiting) and a
// dry run's "would run ... with {JSON}", in events and in Redacted; the
// Approver itself gets the real message.
func TestSecretsInReasons(t *testing.T) {
	pay := act("test.pay", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		return nil, nil
	})
	reg := registry(t, clockwork.NewRealClock(), pay)
	rb := load(t, reg, `version: 1
name: reasons
steps:
  - id: pay
    approval: {message: 'Pay with ${{ secret("api") }}?'}
    action: test.pay
    with: {key: '${{ secret("api") }}'}
`)

	rec := &recorder{}
	ap := &stubApprover{err: engine.ErrPending}
	res := run(t, rb, reg, nil, engine.Options{Sink: rec, Secret: apiSecretFunc, Approver: ap})
	if res.Status != engine.StatusWaiting {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	assertNoLeak(t, rec)
	if e := firstEvent(rec, engine.StepWaiting, "pay", ""); e == nil || e.Message != "Pay with ***?" {
		t.Errorf("step.waiting %+v", e)
	}
	if reqs := ap.requests(); len(reqs) != 1 || reqs[0].Message != "Pay with "+apiSecret+"?" {
		t.Errorf("the approver got %+v", reqs)
	}

	rec = &recorder{}
	res = run(t, rb, reg, nil, engine.Options{Sink: rec, Secret: apiSecretFunc, DryRun: true})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	assertNoLeak(t, rec)
	const why = `dry-run: would run test.pay with {"key":"***"}`
	if e := firstEvent(rec, engine.StepDryRun, "pay", ""); e == nil || e.Message != why {
		t.Errorf("step.dry_run %+v", e)
	}
	if r := res.Redacted().Step("pay", "").Reason; r != why {
		t.Errorf("redacted reason %q", r)
	}
	if found := leaks(t, res.Redacted()); len(found) > 0 {
		t.Errorf("Redacted leaks %v", found)
	}
}
