package main

// One open issue per incident (dedupe_keys, comment, close) against the
// fake GitHub of github_test.go, which also answers, with GitHub's
// documented shapes (docs.github.com/rest/issues/comments and
// /rest/issues/issues#update-an-issue):
//
//   - GET /repos/{owner}/{repo}/issues/{number}/comments → 200, an array of
//     comment objects, oldest first;
//   - POST /repos/{owner}/{repo}/issues/{number}/comments {body} → 201;
//   - PATCH /repos/{owner}/{repo}/issues/{number} {state, state_reason} → 200.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// issue answers the comments and update endpoints of issue rest
// (NUMBER or NUMBER/comments). Called with mu held.
func (g *fakeGitHub) issue(w http.ResponseWriter, r *http.Request, rest string, body map[string]any) {
	num, sub, _ := strings.Cut(rest, "/")
	n, _ := strconv.Atoi(num)
	var is map[string]any
	for _, i := range g.issues {
		if i["number"] == n {
			is = i
		}
	}
	if is == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	comments, _ := is["x-comments"].([]any)
	switch {
	case sub == "comments" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(append([]any{}, comments...))
	case sub == "comments" && r.Method == http.MethodPost:
		c := map[string]any{"id": 9000 + len(comments), "body": body["body"], "user": map[string]any{"login": "steward-bot"}}
		is["x-comments"] = append(comments, c)
		is["comments"] = len(comments) + 1
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(c)
	case sub == "" && r.Method == http.MethodPatch:
		for k, v := range body {
			is[k] = v
		}
		_ = json.NewEncoder(w).Encode(is)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestGitHubOneIssuePerIncident: the first run about an incident opens
// the issue with its keys; another run with one of the keys finds it,
// comments once whatever its retries; a resolved alert closes it; after
// that, the same key opens a new issue.
func TestGitHubOneIssuePerIncident(t *testing.T) {
	g := newFakeGitHub(t, "")
	g.add("an older incident of stripe, closed", dedupeMarker("incident:provider:stripe")+"\n", false)["state"] = "closed"
	p := start(t, g.settings())
	keys := []any{"alert:3fa9c2d1e0b7", "incident:provider:stripe"}
	first := map[string]any{"title": "Card payment failures above 5%", "summary": "stripe errors 30%", "dedupe_keys": keys}
	out, _, err := p.Execute("github_issue", first, sdktest.Step("20261206-100000-aaaaaaaa", "escalate"), sdktest.IdempotencyKey("20261206-100000-aaaaaaaa:escalate"))
	if err != nil || out["created"] != true || out["number"] != 1348.0 || out["existing"] != nil {
		t.Fatalf("first: %v %v", out, err)
	}
	body := g.requests()[len(g.requests())-1].body["body"].(string)
	if !strings.HasPrefix(body, "<!-- steward:idempotency-key=20261206-100000-aaaaaaaa:escalate -->\n<!-- steward:dedupe-key=alert:3fa9c2d1e0b7 -->\n<!-- steward:dedupe-key=incident:provider:stripe -->\n## Summary") {
		t.Errorf("body %q", body)
	}

	// A support run during the outage: same provider key, another run.
	support := map[string]any{"title": "Provider incident: stripe", "summary": "s", "dedupe_keys": []any{"incident:provider:stripe"},
		"comment": "Another customer affected: run 20261206-100500-bbbbbbbb."}
	opts := []sdktest.CallOption{sdktest.Step("20261206-100500-bbbbbbbb", "escalate"), sdktest.IdempotencyKey("20261206-100500-bbbbbbbb:escalate")}
	for attempt := 1; attempt <= 2; attempt++ {
		out, logs, err := p.Execute("github_issue", support, append(opts, sdktest.Attempt(attempt))...)
		want := "map[channel:github_issue commented:true created:false existing:true number:1348 sandbox:false url:https://github.com/stewardhq/incidents/issues/1348]"
		if err != nil || fmt.Sprint(out) != want {
			t.Errorf("attempt %d: %v %v %v", attempt, out, logs, err)
		}
	}
	var posts int
	for _, r := range g.requests() {
		if r.method == "POST" && strings.HasSuffix(r.path, "/issues/1348/comments") {
			posts++
			if r.body["body"] != "<!-- steward:idempotency-key=20261206-100500-bbbbbbbb:escalate -->\nAnother customer affected: run 20261206-100500-bbbbbbbb." {
				t.Errorf("comment %q", r.body["body"])
			}
		}
	}
	if posts != 1 {
		t.Errorf("%d comments posted, want 1 whatever the retries", posts)
	}

	// The alert resolves: the issue is closed.
	resolved := map[string]any{"title": "Card payment failures above 5%", "summary": "resolved", "dedupe_keys": []any{"alert:3fa9c2d1e0b7"},
		"comment": "Resolved at 10:30.", "close": true}
	out, _, err = p.Execute("github_issue", resolved, sdktest.Step("20261206-103000-cccccccc", "escalate"), sdktest.IdempotencyKey("20261206-103000-cccccccc:escalate"))
	if err != nil || out["closed"] != true || out["existing"] != true || out["number"] != 1348.0 {
		t.Errorf("resolved: %v %v", out, err)
	}
	last := g.requests()[len(g.requests())-1]
	if last.method != "PATCH" || last.path != "/repos/stewardhq/incidents/issues/1348" || fmt.Sprint(last.body) != "map[state:closed state_reason:completed]" {
		t.Errorf("close: %s %s %v", last.method, last.path, last.body)
	}
	// Resolved again (a repeated notification): nothing open, nothing opened.
	n := len(g.requests())
	out, logs, err := p.Execute("github_issue", resolved, sdktest.Step("20261206-103100-dddddddd", "escalate"), sdktest.IdempotencyKey("20261206-103100-dddddddd:escalate"))
	if err != nil || out["number"] != 0.0 || out["created"] != false || len(logs) != 1 || logs[0].Message != "no open issue carries alert:3fa9c2d1e0b7: nothing to close" {
		t.Errorf("resolved twice: %v %v %v", out, logs, err)
	}
	for _, r := range g.requests()[n:] {
		if r.method != "GET" {
			t.Errorf("resolved twice sent %s %s", r.method, r.path)
		}
	}
	// The next outage of stripe: a new issue.
	out, _, err = p.Execute("github_issue", support, sdktest.Step("20261207-090000-eeeeeeee", "escalate"), sdktest.IdempotencyKey("20261207-090000-eeeeeeee:escalate"))
	if err != nil || out["created"] != true || out["number"] != 1349.0 {
		t.Errorf("next outage: %v %v", out, err)
	}

	_, _, err = p.Execute("github_issue", map[string]any{"title": "t", "summary": "s", "close": true}, inRun("escalate")...)
	sdktest.WantError(t, err, "invalid_input", false, "with.comment and with.close need with.dedupe_keys: they act on the open issue of an incident")
	_, _, err = p.Execute("github_issue", map[string]any{"title": "t", "summary": "s", "dedupe_keys": []any{"a b"}}, inRun("escalate")...)
	sdktest.WantError(t, err, "invalid_input", false, `with.dedupe_keys[0] must match ^[A-Za-z0-9._:/=+@-]{1,200}$, got "a b"`)
}
