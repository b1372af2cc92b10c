package main

// The alert-to-triage path and the support runbooks' health check end to
// end through the CLI (issue 24): the real steward binary and the real
// observability, notify and payments plugins as processes; metrics from a
// real Prometheus (Debian's, started by promtest) scraping an exporter
// the test serves; logs from the observability plugin's sandbox. GitHub
// is not reachable here: the notify plugin opens, finds, comments on and
// closes issues on an httptest server built from GitHub's documented
// REST shapes (docs.github.com/rest/issues), fakeIssues below.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/observability/promtest"
)

// fakeIssues is one repository's issues behind GitHub's REST shapes: list
// (state filter, newest first), create, comments (list, create), update.
// An issue's comments are kept under x-comments (GitHub's comments is
// their count).
type fakeIssues struct {
	mu     sync.Mutex
	issues []map[string]any
}

func (g *fakeIssues) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			_ = json.Unmarshal(b, &body)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		rest, ok := strings.CutPrefix(r.URL.Path, "/repos/stewardhq/incidents/issues")
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		num, sub, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
		switch {
		case num == "" && r.Method == http.MethodGet:
			out := []map[string]any{}
			for i := len(g.issues) - 1; i >= 0; i-- {
				if st := r.URL.Query().Get("state"); st == "all" || st == g.issues[i]["state"] {
					out = append(out, g.issues[i])
				}
			}
			_ = json.NewEncoder(w).Encode(out)
		case num == "" && r.Method == http.MethodPost:
			n := len(g.issues) + 1
			is := map[string]any{"number": n, "state": "open", "title": body["title"], "body": body["body"],
				"html_url": "https://github.com/stewardhq/incidents/issues/" + strconv.Itoa(n), "comments": 0, "x-comments": []any{}}
			g.issues = append(g.issues, is)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(is)
		default:
			n, _ := strconv.Atoi(num)
			if n < 1 || n > len(g.issues) {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			is := g.issues[n-1]
			switch {
			case sub == "comments" && r.Method == http.MethodGet:
				_ = json.NewEncoder(w).Encode(is["x-comments"])
			case sub == "comments" && r.Method == http.MethodPost:
				c := map[string]any{"id": 100 + len(is["x-comments"].([]any)), "body": body["body"]}
				is["x-comments"] = append(is["x-comments"].([]any), c)
				is["comments"] = len(is["x-comments"].([]any))
				w.WriteHeader(http.StatusCreated)
				_ = json.NewEncoder(w).Encode(c)
			case sub == "" && r.Method == http.MethodPatch:
				is["state"] = body["state"]
				_ = json.NewEncoder(w).Encode(is)
			default:
				w.WriteHeader(http.StatusNotFound)
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (g *fakeIssues) snapshot() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, _ := json.Marshal(g.issues)
	var out []map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// TestObservabilityIncident: an alert starts incident-triage, which opens
// one issue for the incident; a support run during the incident gets the
// known-incident reply and comments on that issue; the alert firing again
// comments on it; the alert resolved closes it. Without a backend, the
// health check is skipped and says so.
func TestObservabilityIncident(t *testing.T) {
	t.Parallel()
	exp := promtest.ServeExporter(t, map[string]promtest.Load{
		"stripe": {Requests: 100, Errors: 30, Fast: 60, Medium: 30, Slow: 10},
		"adyen":  {Requests: 100, Errors: 1, Fast: 95, Medium: 5},
	})
	prom := promtest.Start(t, exp.Target())
	prom.WaitFor(t, `sum by (provider) (rate(card_payment_requests_total{outcome="error"}[5m])) > 0`)

	gh := &fakeIssues{}
	ghSrv := gh.serve(t)
	token := "ghp_" + randomHex(t, 18)
	e := newSupportEnv(t, paymentsLeads+fmt.Sprintf(`plugins:
  settings:
    observability:
      metrics: prometheus
      prometheus: {url: %s}
      logs: sandbox
    notify:
      github:
        repository: stewardhq/incidents
        token: {secret: GITHUB_TOKEN}
        base_url: %s
`, prom.URL, ghSrv.URL), []string{"STEWARD_SECRET_GITHUB_TOKEN=" + token}, "observability", "notify", "payments")

	alert := func(status string) string {
		path := filepath.Join(e.dir, status+".json")
		writeFile(t, path, fmt.Sprintf(`{"status": %q, "fingerprint": "3fa9c2d1e0b74a56",
  "labels": {"alertname": "CardPaymentFailures", "severity": "critical", "provider": "stripe"},
  "annotations": {"summary": "Card payment failures above 5%%"},
  "starts_at": "2026-12-06T10:00:00Z", "ends_at": "2026-12-06T10:40:00Z"}`, status))
		return path
	}

	// The alert fires: one issue, with the numbers, the affected provider
	// and the top messages.
	doc := e.run(exitOK, "incident-triage", "--inputs", alert("firing"))
	o := doc.Outputs
	if o["incident"] != true || fmt.Sprint(o["affected_providers"]) != "[stripe]" || o["existing"] != false ||
		o["issue_url"] != "https://github.com/stewardhq/incidents/issues/1" ||
		!strings.HasPrefix(o["numbers"].(string), "incident: error_rate 0.3 > 0.05") {
		t.Fatalf("triage: %v", o)
	}
	issues := gh.snapshot()
	if len(issues) != 1 || issues[0]["title"] != "[CRITICAL] CardPaymentFailures: Card payment failures above 5%" ||
		!strings.Contains(issues[0]["body"].(string), "<!-- steward:dedupe-key=alert:3fa9c2d1e0b74a56 -->\n<!-- steward:dedupe-key=incident:provider:stripe -->") ||
		!strings.Contains(issues[0]["body"].(string), "- stripe: 30% errors (affected)\n- adyen: 1% errors") {
		t.Fatalf("issues %v", issues)
	}

	// A customer's failed payment during the incident: the known-incident
	// reply, and a comment on the incident's issue instead of a new one.
	doc = e.run(exitOK, "card-payment-failure", "--input", "id=pi_sandbox_processing_error", "--input", "customer=Ana")
	supportRun := doc.ID
	o = doc.Outputs
	if o["known_incident"] != true || !strings.HasPrefix(o["health"].(string), "stripe: incident: error_rate 0.3 > 0.05") ||
		o["escalation_sent"] != "https://github.com/stewardhq/incidents/issues/1" {
		t.Fatalf("support: %v", o)
	}
	checkReply(t, o["reply"].(string), "en", "Ana", "Our card payment provider is having a problem right now that affects some payments")
	issues = gh.snapshot()
	comments := issues[0]["x-comments"].([]any)
	if len(issues) != 1 || len(comments) != 1 ||
		!strings.HasSuffix(comments[0].(map[string]any)["body"].(string), "Affected: pi_sandbox_processing_error (temporary_error), run "+doc.ID+".") {
		t.Fatalf("after support: %v", issues)
	}

	// Fired again, then resolved: the same issue, commented, then closed.
	doc = e.run(exitOK, "incident-triage", "--inputs", alert("firing"))
	if doc.Outputs["existing"] != true || doc.Outputs["issue_url"] != "https://github.com/stewardhq/incidents/issues/1" {
		t.Fatalf("fired again: %v", doc.Outputs)
	}
	doc = e.run(exitOK, "incident-triage", "--inputs", alert("resolved"))
	issues = gh.snapshot()
	if doc.Outputs["closed"] != true || len(issues) != 1 || issues[0]["state"] != "closed" || len(issues[0]["x-comments"].([]any)) != 3 ||
		!strings.HasPrefix(strings.SplitN(issues[0]["x-comments"].([]any)[2].(map[string]any)["body"].(string), "\n", 2)[1], "Resolved at 2026-12-06T10:40:00Z, run "+doc.ID) {
		t.Fatalf("resolved: %v %v", doc.Outputs, issues)
	}

	// A refund a payments-lead approves, to see in a review who approved
	// what and when.
	doc = e.run(exitWaiting, "card-payment-failure", "--input", "id=pi_sandbox_succeeded", "--input", "refund=true", "--as", "ana")
	refundRun := doc.ID
	e.cmd(exitOK, "approve", refundRun, "refund", "--as", "bruno", "--comment", "charged twice, ticket 4711")
	e.cmd(exitOK, "resume", refundRun)

	// The reviews: one run, and the incident's runs together.
	md := e.cmd(exitOK, "show", supportRun, "-o", "markdown").stdout
	for _, want := range []string{
		"# Run " + supportRun + ": card-payment-failure (succeeded)\n",
		"| actor | ",
		"## What started it\n\n| input | value |\n|---|---|\n| customer | Ana |\n",
		"| id | pi_sandbox_processing_error |\n",
		"| health | core.runbook | succeeded | 1 | ",
		"stripe: incident: error_rate 0.3 \u003e 0.05",
		"## Approvals\n\nNone.\n",
		"## Sent to customers\n\nThe reply drafted for the customer (outputs.reply):\n\n> Hi Ana,\n>\n> Thank you for getting in touch about your payment of 20.00 EUR. Our card payment provider is having a problem right now",
		"## Journal\n\n| time | seq | hash | record |\n",
		"Check these records against the journal: `steward audit verify --run " + supportRun + "`.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("show -o markdown lacks %q:\n%s", want, md)
		}
	}
	// Every journal row's seq and hash prefix are the export's.
	export := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(e.cmd(exitOK, "audit", "export", "--run", supportRun).stdout), "\n") {
		var rec struct {
			Seq  int64  `json:"seq"`
			Type string `json:"type"`
			Hash string `json:"hash"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Hash != "" && rec.Type != "export.end" {
			export[strconv.FormatInt(rec.Seq, 10)] = rec.Hash
		}
	}
	rows := 0
	for _, line := range strings.Split(md[strings.Index(md, "## Journal"):], "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) < 4 || !strings.HasPrefix(line, "| 20") {
			continue
		}
		rows++
		if h := export[cells[1]]; len(cells[2]) != 12 || !strings.HasPrefix(h, cells[2]) {
			t.Errorf("journal row %q: seq %s has hash %q in the export", line, cells[1], h)
		}
	}
	if rows < 10 || rows != len(export) {
		t.Errorf("%d journal rows, %d records exported", rows, len(export))
	}
	md = e.cmd(exitOK, "show", refundRun, "-o", "markdown").stdout
	if !regexp.MustCompile(`\| refund \| approved \| bruno \| 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z \| charged twice, ticket 4711 \|`).MatchString(md) {
		t.Errorf("show -o markdown of the refund has no approval row:\n%s", md)
	}

	tl := e.cmd(exitOK, "incident", "timeline", "3fa9c2d1e0b74a56").stdout
	for _, want := range []string{
		"# Incident 3fa9c2d1e0b74a56\n\n4 runs from ",
		"| run | runbook | status | actor | started | records |\n",
		"| " + supportRun + " | card-payment-failure | succeeded | ",
		": incident-triage (succeeded)\n",
		"| fingerprint | 3fa9c2d1e0b74a56 |",
		"| status | resolved |",
		"## Timeline\n\n| time | run | seq | hash | record |\n",
		"| " + supportRun + " | ",
	} {
		if !strings.Contains(tl, want) {
			t.Errorf("incident timeline lacks %q:\n%s", want, tl)
		}
	}
	if strings.Contains(tl, refundRun) {
		t.Errorf("the refund run is not linked to the incident:\n%s", tl)
	}
	if tl := e.cmd(exitOK, "incident", "timeline", "0000000000000000").stdout; tl != "# Incident 0000000000000000\n\nNo run in the journal is linked to 0000000000000000.\n" {
		t.Errorf("no such incident: %q", tl)
	}
	e.cmd(exitInvalid, "incident", "timeline", "x", "-o", "yaml")

	// A fingerprint that is not one: nothing runs.
	bad := filepath.Join(e.dir, "bad.json")
	writeFile(t, bad, `{"status": "firing", "fingerprint": "$(reboot)", "labels": {}}`)
	r := e.cmd(exitInvalid, "run", "incident-triage", "--inputs", bad)
	if !strings.Contains(r.stderr, "fingerprint") {
		t.Errorf("bad fingerprint: %s", r.stderr)
	}
	e.secretsNowhere(token)
}

// TestObservabilityNotConfigured: with the plugin installed but no
// backend, and without the plugin, the support runbooks skip their health
// check and say so.
func TestObservabilityNotConfigured(t *testing.T) {
	t.Parallel()
	e := newSupportEnv(t, paymentsLeads, nil, "observability", "payments")
	doc := e.run(exitOK, "card-payment-failure", "--input", "id=pi_sandbox_processing_error")
	if doc.Outputs["health"] != "skipped: no metrics backend is configured: set plugins.settings.observability.metrics to prometheus or datadog (or sandbox to try it) in steward.yaml" ||
		doc.Outputs["known_incident"] != false || doc.Outputs["diagnosis"] != "temporary_error" {
		t.Errorf("no backend: %v", doc.Outputs)
	}
	e = newSupportEnv(t, "", nil, "evm")
	doc = e.run(exitOK, "stuck-transaction", "--input", "chain=ethereum", "--input", "tx_hash="+repeatHash("9a90"))
	if doc.Outputs["health"] != "skipped: the observability plugin is not installed (steward plugins install observability)" || doc.Outputs["known_incident"] != false {
		t.Errorf("no plugin: %v", doc.Outputs)
	}
}

// TestObservabilityAlertmanagerWebhook: the alert-to-triage path through
// steward serve: Alertmanager POSTs a notification (its webhook_config
// payload, version 4) to /hooks/alerts with its bearer token; steward
// starts incident-triage once per firing alert, and again for the
// resolved alert (resolved_runbook), which closes the one issue.
func TestObservabilityAlertmanagerWebhook(t *testing.T) {
	t.Parallel()
	exp := promtest.ServeExporter(t, map[string]promtest.Load{"stripe": {Requests: 100, Errors: 30, Fast: 60, Medium: 30, Slow: 10}})
	prom := promtest.Start(t, exp.Target())
	prom.WaitFor(t, `sum by (provider) (rate(card_payment_requests_total{outcome="error"}[5m])) > 0`)
	gh := &fakeIssues{}
	ghSrv := gh.serve(t)
	hookToken := randomHex(t, 16)
	e := newSupportEnv(t, fmt.Sprintf(`plugins:
  settings:
    observability:
      metrics: prometheus
      prometheus: {url: %s}
      logs: sandbox
    notify:
      github: {repository: stewardhq/incidents, token: {secret: GITHUB_TOKEN}, base_url: %s}
webhooks:
  - name: alerts
    runbook: incident-triage
    verify: alertmanager
    secret: {secret: ALERTMANAGER_TOKEN}
    inputs:
      status: '${{ alert.status }}'
      fingerprint: '${{ alert.fingerprint }}'
      labels: '${{ alert.labels }}'
      annotations: '${{ alert.annotations ?? {} }}'
      starts_at: '${{ alert.startsAt ?? "" }}'
      ends_at: '${{ alert.status == "resolved" ? alert.endsAt : "" }}'
      generator_url: '${{ alert.generatorURL ?? "" }}'
    resolved_runbook: incident-triage
`, prom.URL, ghSrv.URL), nil, "observability", "notify")

	cmd := exec.Command(steward, "--home", e.home, "serve", "--listen", "127.0.0.1:0")
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "STEWARD_SECRET_GITHUB_TOKEN=ghp_"+randomHex(t, 18), "STEWARD_SECRET_ALERTMANAGER_TOKEN="+hookToken)
	s := &serveProc{cmd: cmd, log: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	s.waitLog(t, listeningRe.String())
	s.addr = listeningRe.FindStringSubmatch(s.log.String())[1]

	notify := func(status, token string) int {
		body := fmt.Sprintf(`{"version": "4", "groupKey": "{}:{alertname=\"CardPaymentFailures\"}", "truncatedAlerts": 0, "status": %q,
  "receiver": "steward", "groupLabels": {"alertname": "CardPaymentFailures"}, "commonLabels": {}, "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "alerts": [{"status": %q, "fingerprint": "3fa9c2d1e0b74a56",
    "labels": {"alertname": "CardPaymentFailures", "severity": "critical", "provider": "stripe"},
    "annotations": {"summary": "Card payment failures above 5%%"},
    "startsAt": "2026-12-06T10:00:00Z", "endsAt": "2026-12-06T10:40:00Z",
    "generatorURL": "http://prometheus:9090/graph?g0.expr=card_payment_error_ratio"}]}`, status, status)
		req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/hooks/alerts", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	// waitIssue waits until the fake GitHub's only issue passes check.
	waitIssue := func(what string, check func(map[string]any) bool) {
		t.Helper()
		for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); {
			if is := gh.snapshot(); len(is) == 1 && check(is[0]) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: issues %v\nserve log:\n%s", what, gh.snapshot(), s.log.String())
	}

	if code := notify("firing", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", code)
	}
	if code := notify("firing", hookToken); code != http.StatusAccepted {
		t.Fatalf("firing: %d\n%s", code, s.log.String())
	}
	waitIssue("firing", func(is map[string]any) bool {
		return is["state"] == "open" && strings.Contains(is["body"].(string), "<!-- steward:dedupe-key=alert:3fa9c2d1e0b74a56 -->") &&
			strings.Contains(is["body"].(string), "- stripe: 30% errors (affected)")
	})
	// Alertmanager repeats a notification (repeat_interval, a retry): the
	// same firing is one run, deduplicated by the fingerprint and start.
	if code := notify("firing", hookToken); code/100 != 2 {
		t.Fatalf("firing again: %d", code)
	}
	if code := notify("resolved", hookToken); code != http.StatusAccepted {
		t.Fatalf("resolved: %d", code)
	}
	waitIssue("resolved", func(is map[string]any) bool { return is["state"] == "closed" })
	is := gh.snapshot()[0]
	if comments := is["x-comments"].([]any); len(comments) != 1 || !strings.Contains(comments[0].(map[string]any)["body"].(string), "Resolved at 2026-12-06T10:40:00Z") {
		t.Errorf("comments %v: one, the resolution (the repeated firing started no run)", comments)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exit %d", code)
	}
}
