package hooks_test

// No GitHub, Zendesk, Alertmanager or Grafana is reachable from the tests:
// requests are built as each documents its webhooks (GitHub: "Validating
// webhook deliveries", X-Hub-Signature-256 = sha256=HEX(HMAC-SHA256(body));
// Zendesk: "Verifying webhook authenticity", base64(HMAC-SHA256(timestamp
// + body)) with the timestamp header; Alertmanager's webhook_config JSON,
// version 4, with http_config.authorization; Grafana's webhook contact
// point, Alertmanager-shaped with an Authorization header) and sent to
// the handler over a real HTTP server, which starts runs with a real run
// service on a real SQLite journal.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/hooks"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

const steward = `webhooks:
  - name: github
    runbook: ticket
    verify: github
    secret: {secret: GH}
    inputs: {ticket_id: '${{ payload.issue.number }}'}
    dedupe: '${{ headers["x-github-delivery"] }}'
  - name: zendesk
    runbook: ticket
    verify: zendesk
    secret: {secret: ZD}
    inputs: {ticket_id: 'zd-${{ payload.ticket.id }}'}
  - name: generic
    runbook: ticket
    verify: generic
    secret: {secret: GEN}
    inputs: {ticket_id: '${{ payload.id }}'}
  - name: count
    runbook: counted
    verify: generic
    secret: {secret: GEN}
    inputs: {n: '${{ payload.n }}'}
  - name: alerts
    runbook: node-down
    verify: alertmanager
    secret: {secret: AM}
    inputs: {node: '${{ alert.labels.instance }}'}
    resolved_runbook: node-up
  - name: grafana
    runbook: node-down
    verify: grafana
    secret: {secret: GRAF}
    inputs: {node: '${{ alert.labels.instance }}'}
`

var secrets = map[string]string{"GH": "gh-secret", "ZD": "zd-secret", "GEN": "gen-secret", "AM": "am-token", "GRAF": "graf-token"}

type fixture struct {
	t     testing.TB
	url   string
	clock *clockwork.FakeClock
	svc   *runs.Service
	store journal.Store
	logs  *lockedWriter
}

func newFixture(t testing.TB) *fixture { return newFixtureAt(t, t.TempDir()) }

// newFixtureAt is a server on the journal under home: two fixtures on
// the same home are two replicas sharing a store.
func newFixtureAt(t testing.TB, home string) *fixture {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{
		"ticket":    "version: 1\nname: ticket\ninputs:\n  ticket_id: {type: string, required: true}\nsteps:\n  - id: note\n    action: core.log\n    with:\n      message: ticket ${{ inputs.ticket_id }}\n",
		"node-down": "version: 1\nname: node-down\ninputs:\n  node: {type: string, required: true}\nsteps:\n  - id: note\n    action: core.log\n    with:\n      message: down ${{ inputs.node }}\n",
		"counted":   "version: 1\nname: counted\ninputs:\n  n: {type: integer, required: true}\nsteps:\n  - id: note\n    action: core.log\n    with:\n      message: n ${{ inputs.n }}\n",
		"node-up":   "version: 1\nname: node-up\ninputs:\n  node: {type: string, required: true}\nsteps:\n  - id: note\n    action: core.log\n    with:\n      message: up ${{ inputs.node }}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(filepath.Join(dir, "steward.yaml"), []byte(steward))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(time.Date(2027, 2, 1, 10, 0, 0, 0, time.UTC))
	svc := runs.New(runs.Config{Store: store, Host: "test", PID: os.Getpid(),
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			_ = reg.Register(core.Actions(clockwork.NewRealClock(), sub)...)
			return reg
		}})
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(logs, nil))
	bg := runs.NewBackground(ctx, nil, log)
	r := hooks.NewRuns(bg, svc, func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, []string{dir}) })
	h := hooks.New(hooks.Config{
		Webhooks: func() []config.Webhook { return cfg.Webhooks },
		Secret:   func(n string) (string, bool) { v, ok := secrets[n]; return v, ok },
		Start:    r.Starter(),
		Clock:    clock,
		Log:      log,
		MaxBody:  64 << 10,
	})
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/{name}", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		_ = bg.Wait(context.Background())
		store.Close()
	})
	return &fixture{t: t, url: srv.URL, clock: clock, svc: svc, store: store, logs: logs}
}

type answer struct {
	status int
	body   map[string]any
	ctype  string
}

func (f *fixture) post(name string, body []byte, header ...string) answer {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.url+"/hooks/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return answer{res.StatusCode, m, res.Header.Get("Content-Type")}
}

// runs lists the runs in the journal: "runbook actor input" each, sorted.
func (f *fixture) runs() []string {
	f.t.Helper()
	var out []string
	err := f.svc.List(context.Background(), runs.Filter{}, func(s runs.Summary) error {
		st, err := journal.Load(context.Background(), f.store, s.ID)
		if err != nil {
			return err
		}
		var in []string
		for _, v := range st.Inputs {
			in = append(in, fmt.Sprint(v))
		}
		sort.Strings(in)
		key := ""
		if st.Origin.Trigger != nil {
			key = st.Origin.Trigger.Key
		}
		out = append(out, s.Runbook+" "+s.Actor+" "+strings.Join(in, ",")+" "+key)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func (f *fixture) wantRuns(want ...string) {
	f.t.Helper()
	got := f.runs()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		f.t.Fatalf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func (f *fixture) wantRefused(a answer, status int) {
	f.t.Helper()
	if a.status != status || a.ctype != "application/problem+json" || a.body["status"] != float64(status) || a.body["detail"] == "" {
		f.t.Fatalf("answer %+v; want %d problem+json", a, status)
	}
}

func hmacHex(secret string, parts ...[]byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func TestGitHub(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"action":"opened","issue":{"number":"1347"}}`)
	sig := "sha256=" + hmacHex("gh-secret", body)
	a := f.post("github", body, "X-Hub-Signature-256", sig, "X-GitHub-Delivery", "d-1")
	if a.status != http.StatusAccepted || a.body["runbook"] != "ticket" || a.body["duplicate"] != false || a.body["run_id"] == "" {
		t.Fatalf("signed: %+v", a)
	}
	// The same delivery again: the run it started, nothing new.
	b := f.post("github", body, "X-Hub-Signature-256", sig, "X-GitHub-Delivery", "d-1")
	if b.status != http.StatusOK || b.body["run_id"] != a.body["run_id"] || b.body["duplicate"] != true {
		t.Fatalf("redelivered: %+v", b)
	}
	tampered := []byte(`{"action":"opened","issue":{"number":"1348"}}`)
	f.wantRefused(f.post("github", tampered, "X-Hub-Signature-256", sig, "X-GitHub-Delivery", "d-2"), 401)
	// SHA-1 alone is not accepted.
	sha1 := "sha1=" + hmacHex("gh-secret", body)
	f.wantRefused(f.post("github", body, "X-Hub-Signature", sha1, "X-GitHub-Delivery", "d-3"), 401)
	f.wantRuns("ticket webhook:github 1347 hook/github/d-1")
	if !strings.Contains(f.logs.String(), "verification failed") || strings.Contains(f.logs.String(), "gh-secret") {
		t.Fatalf("log:\n%s", f.logs)
	}
}

func zendeskHeaders(secret, ts string, body []byte) []string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write(body)
	return []string{"X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)), "X-Zendesk-Webhook-Signature-Timestamp", ts}
}

func TestZendesk(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"ticket":{"id":35436,"subject":"card declined"}}`)
	ts := f.clock.Now().Add(-time.Minute).Format(time.RFC3339)
	a := f.post("zendesk", body, zendeskHeaders("zd-secret", ts, body)...)
	if a.status != http.StatusAccepted || a.body["duplicate"] != false {
		t.Fatalf("signed: %+v", a)
	}
	b := f.post("zendesk", body, zendeskHeaders("zd-secret", ts, body)...)
	if b.status != http.StatusOK || b.body["run_id"] != a.body["run_id"] || b.body["duplicate"] != true {
		t.Fatalf("delivered twice: %+v", b)
	}
	// Tampered body, wrong secret, no timestamp.
	f.wantRefused(f.post("zendesk", []byte(`{"ticket":{"id":1}}`), zendeskHeaders("zd-secret", ts, body)...), 401)
	f.wantRefused(f.post("zendesk", body, zendeskHeaders("other", ts, body)...), 401)
	f.wantRefused(f.post("zendesk", body, zendeskHeaders("zd-secret", ts, body)[:2]...), 401)
	// A request signed correctly but replayed ten minutes later.
	f.clock.Advance(10 * time.Minute)
	other := []byte(`{"ticket":{"id":99}}`)
	f.wantRefused(f.post("zendesk", other, zendeskHeaders("zd-secret", ts, other)...), 401)
	// And one from the future.
	future := f.clock.Now().Add(6 * time.Minute).Format(time.RFC3339)
	f.wantRefused(f.post("zendesk", other, zendeskHeaders("zd-secret", future, other)...), 401)
	sum := sha256.Sum256(body)
	f.wantRuns("ticket webhook:zendesk zd-35436 hook/zendesk/" + hex.EncodeToString(sum[:]))
	if n := strings.Count(f.logs.String(), "verification failed"); n != 5 || !strings.Contains(f.logs.String(), "a replay") {
		t.Fatalf("%d refusals logged:\n%s", n, f.logs)
	}
}

func TestGeneric(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"id":"evt-1"}`)
	if a := f.post("generic", body, "X-Steward-Signature", hooks.Sign([]byte("gen-secret"), body)); a.status != http.StatusAccepted {
		t.Fatalf("signed: %+v", a)
	}
	f.wantRefused(f.post("generic", []byte(`{"id":"evt-2"}`), "X-Steward-Signature", hooks.Sign([]byte("gen-secret"), body)), 401)
	f.wantRefused(f.post("generic", body, "X-Steward-Signature", "sha256=zz"), 401)
	f.wantRefused(f.post("generic", body), 401)
	// Verified, but the payload does not give the input: 422, nothing.
	nothing := []byte(`{"other":1}`)
	f.wantRefused(f.post("generic", nothing, "X-Steward-Signature", hooks.Sign([]byte("gen-secret"), nothing)), 422)
	// Not JSON, too large, unknown webhook.
	text := []byte("hello")
	f.wantRefused(f.post("generic", text, "X-Steward-Signature", hooks.Sign([]byte("gen-secret"), text)), 400)
	big := bytes.Repeat([]byte("x"), 65<<10)
	f.wantRefused(f.post("generic", big, "X-Steward-Signature", hooks.Sign([]byte("gen-secret"), big)), 413)
	f.wantRefused(f.post("nope", body), 404)
	sum := sha256.Sum256(body)
	f.wantRuns("ticket webhook:generic evt-1 hook/generic/" + hex.EncodeToString(sum[:]))
}

// An Alertmanager notification with two firing alerts and one resolved:
// two runs of the runbook and one of resolved_runbook, each keyed by the
// alert's fingerprint; the same notification again starts nothing.
func TestAlertmanager(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"version":"4","status":"firing","receiver":"steward","groupLabels":{"alertname":"NodeDown"},
"alerts":[
 {"status":"firing","labels":{"alertname":"NodeDown","instance":"node-1"},"startsAt":"2027-02-01T09:50:00Z","fingerprint":"aaa1"},
 {"status":"firing","labels":{"alertname":"NodeDown","instance":"node-2"},"startsAt":"2027-02-01T09:51:00Z","fingerprint":"bbb2"},
 {"status":"resolved","labels":{"alertname":"NodeDown","instance":"node-3"},"startsAt":"2027-02-01T08:00:00Z","fingerprint":"ccc3"}]}`)
	f.wantRefused(f.post("alerts", body, "Authorization", "Bearer wrong"), 401)
	f.wantRefused(f.post("alerts", body), 401)
	a := f.post("alerts", body, "Authorization", "Bearer am-token")
	list, _ := a.body["runs"].([]any)
	if a.status != http.StatusAccepted || len(list) != 3 || a.body["ignored"] != 0.0 {
		t.Fatalf("notification: %+v", a)
	}
	b := f.post("alerts", body, "Authorization", "Bearer am-token")
	again, _ := b.body["runs"].([]any)
	if b.status != http.StatusOK || len(again) != 3 || again[0].(map[string]any)["duplicate"] != true {
		t.Fatalf("sent again: %+v", b)
	}
	f.wantRuns(
		"node-down webhook:alerts node-1 hook/alerts/aaa1/2027-02-01T09:50:00Z/firing",
		"node-down webhook:alerts node-2 hook/alerts/bbb2/2027-02-01T09:51:00Z/firing",
		"node-up webhook:alerts node-3 hook/alerts/ccc3/2027-02-01T08:00:00Z/resolved",
	)
}

// Grafana without resolved_runbook: a resolved alert starts nothing.
func TestGrafana(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"receiver":"steward","status":"firing","orgId":1,"title":"[FIRING:1]","state":"alerting",
"alerts":[
 {"status":"firing","labels":{"instance":"db-1"},"startsAt":"2027-02-01T09:00:00Z","fingerprint":"f1","values":{"A":1}},
 {"status":"resolved","labels":{"instance":"db-2"},"startsAt":"2027-02-01T08:00:00Z","fingerprint":"f2"}]}`)
	a := f.post("grafana", body, "Authorization", "Bearer graf-token")
	if list, _ := a.body["runs"].([]any); a.status != http.StatusAccepted || len(list) != 1 || a.body["ignored"] != 1.0 {
		t.Fatalf("notification: %+v", a)
	}
	f.wantRefused(f.post("grafana", body, "Authorization", "Bearer am-token"), 401)
	f.wantRefused(f.post("grafana", []byte(`{"alerts":[{"status":"firing"}]}`), "Authorization", "Bearer graf-token"), 422)
	f.wantRuns("node-down webhook:grafana db-1 hook/grafana/f1/2027-02-01T09:00:00Z/firing")
}

// lockedWriter serialises the log's writes (the handler and the runs
// log from several goroutines).
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// BenchmarkGenericHook: a signed delivery over HTTP to the run's
// run.started record written (a real SQLite journal, a one-step core
// runbook), each delivery a new event.
func BenchmarkGenericHook(b *testing.B) {
	f := newFixture(b)
	b.ResetTimer()
	for i := range b.N {
		body := []byte(fmt.Sprintf(`{"id":"evt-%d"}`, i))
		if a := f.post("generic", body, "X-Steward-Signature", hooks.Sign([]byte("gen-secret"), body)); a.status != http.StatusAccepted {
			b.Fatalf("%+v", a)
		}
	}
}

// A text given for an integer input is read as --input reads it.
func TestTypedInputs(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		body   string
		status int
	}{{`{"n":"42"}`, 202}, {`{"n":7}`, 202}, {`{"n":"many"}`, 422}, {`{"n":1.5}`, 422}} {
		body := []byte(c.body)
		a := f.post("count", body, "X-Steward-Signature", hooks.Sign([]byte("gen-secret"), body))
		if a.status != c.status {
			t.Errorf("%s: %+v", c.body, a)
		}
	}
	s42, s7 := sha256.Sum256([]byte(`{"n":"42"}`)), sha256.Sum256([]byte(`{"n":7}`))
	want := []string{"counted webhook:count 42 hook/count/" + hex.EncodeToString(s42[:]), "counted webhook:count 7 hook/count/" + hex.EncodeToString(s7[:])}
	sort.Strings(want)
	f.wantRuns(want...)
}

// The same event delivered to two replicas at once, several times: one
// run, and every answer names it.
func TestConcurrentDeliveriesOneRun(t *testing.T) {
	home := t.TempDir()
	a, b := newFixtureAt(t, home), newFixtureAt(t, home)
	body := []byte(`{"id":"evt-once"}`)
	sig := hooks.Sign([]byte("gen-secret"), body)
	answers := make([]answer, 8)
	var wg sync.WaitGroup
	for i := range answers {
		f := a
		if i%2 == 1 {
			f = b
		}
		wg.Go(func() { answers[i] = f.post("generic", body, "X-Steward-Signature", sig) })
	}
	wg.Wait()
	started, ids := 0, map[any]bool{}
	for _, an := range answers {
		switch {
		case an.status == http.StatusAccepted && an.body["duplicate"] == false:
			started++
		case an.status == http.StatusOK && an.body["duplicate"] == true:
		default:
			t.Fatalf("answer %+v", an)
		}
		ids[an.body["run_id"]] = true
	}
	if started != 1 || len(ids) != 1 {
		t.Fatalf("%d started, run ids %v: want one", started, ids)
	}
	sum := sha256.Sum256(body)
	a.wantRuns("ticket webhook:generic evt-once hook/generic/" + hex.EncodeToString(sum[:]))
}
