package main

// The github_issue action against an httptest server: GitHub is not
// reachable from the tests, so a local server answers with the shapes
// GitHub documents for the two endpoints the plugin uses
// (docs.github.com/rest/issues/issues):
//
//   - GET /repos/{owner}/{repo}/issues?state=all&sort=created&direction=desc&per_page=100&page=N
//     → 200, an array of issue objects, newest first, pull requests
//     included (they carry "pull_request"), and a Link header with
//     rel="next" while more pages follow;
//   - POST /repos/{owner}/{repo}/issues {title, body, labels, assignees}
//     → 201, the issue object;
//
// and GitHub's documented errors: 401 Bad credentials, 403 with
// X-RateLimit-Remaining: 0 (primary rate limit), 403 with a
// secondary-rate-limits documentation_url and Retry-After, 403
// Resource not accessible, 404, 410 (issues disabled), 422 Validation
// Failed with field errors, 5xx.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/plugins/peertest"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

const ghToken = "ghp_TestTokenThatMustNeverLeak0123456789"

type ghRequest struct {
	method, path, query string
	header              http.Header
	body                map[string]any
}

// fakeGitHub is one repository's issues, newest last, behind GitHub's
// REST shapes. fail, when set, answers instead (status, headers, body).
type fakeGitHub struct {
	mu     sync.Mutex
	repo   string
	issues []map[string]any
	reqs   []ghRequest
	base   string
	fail   func(r *http.Request) (int, map[string]string, string)
}

func newFakeGitHub(t *testing.T, prefix string) *fakeGitHub {
	t.Helper()
	g := &fakeGitHub{repo: "stewardhq/incidents"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		g.mu.Lock()
		defer g.mu.Unlock()
		g.reqs = append(g.reqs, ghRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if g.fail != nil {
			status, headers, body := g.fail(r)
			for k, v := range headers {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
		path := strings.TrimPrefix(r.URL.Path, prefix)
		switch {
		case path == "/repos/"+g.repo+"/issues" && r.Method == http.MethodGet:
			g.list(w, r, prefix)
		case strings.HasPrefix(path, "/repos/"+g.repo+"/issues/"):
			g.issue(w, r, strings.TrimPrefix(path, "/repos/"+g.repo+"/issues/"), body)
		case path == "/repos/"+g.repo+"/issues" && r.Method == http.MethodPost:
			is := g.add(body["title"].(string), body["body"].(string), false)
			// GitHub answers labels and assignees as objects.
			for _, k := range []string{"labels", "assignees"} {
				var objs []any
				for _, v := range asList(body[k]) {
					if k == "labels" {
						objs = append(objs, map[string]any{"name": v, "color": "ededed"})
					} else {
						objs = append(objs, map[string]any{"login": v, "type": "User"})
					}
				}
				is[k] = append([]any{}, objs...)
			}
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(is)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}`)
		}
	}))
	t.Cleanup(srv.Close)
	g.base = srv.URL + prefix + "/"
	return g
}

// add makes an issue (or a pull request) as GitHub shows it. Called with
// mu held, or before the server is used.
func (g *fakeGitHub) add(title, body string, pr bool) map[string]any {
	n := 1347 + len(g.issues)
	is := map[string]any{
		"id": 1000000 + n, "node_id": "I_kwDOA" + strconv.Itoa(n),
		"url":      "https://api.github.com/repos/" + g.repo + "/issues/" + strconv.Itoa(n),
		"html_url": "https://github.com/" + g.repo + "/issues/" + strconv.Itoa(n),
		"number":   n, "state": "open", "title": title, "body": body,
		"user":   map[string]any{"login": "steward-bot", "id": 1, "type": "User"},
		"labels": []any{}, "assignee": nil, "assignees": []any{}, "locked": false, "comments": 0,
		"created_at": "2026-11-21T10:15:02Z", "updated_at": "2026-11-21T10:15:02Z", "closed_at": nil,
		"author_association": "MEMBER", "state_reason": nil,
	}
	if pr {
		is["html_url"] = "https://github.com/" + g.repo + "/pull/" + strconv.Itoa(n)
		is["pull_request"] = map[string]any{"url": "https://api.github.com/repos/" + g.repo + "/pulls/" + strconv.Itoa(n)}
	}
	g.issues = append(g.issues, is)
	return is
}

func (g *fakeGitHub) list(w http.ResponseWriter, r *http.Request, prefix string) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage == 0 {
		perPage = 30
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	var newest []map[string]any
	for i := len(g.issues) - 1; i >= 0; i-- {
		if st := q.Get("state"); st == "all" || st == "" || st == g.issues[i]["state"] {
			newest = append(newest, g.issues[i])
		}
	}
	from, to := min((page-1)*perPage, len(newest)), min(page*perPage, len(newest))
	if to < len(newest) {
		next := *r.URL
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s>; rel="next"`, r.Host, next.RequestURI()))
	}
	_ = json.NewEncoder(w).Encode(append([]map[string]any{}, newest[from:to]...))
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func (g *fakeGitHub) requests() []ghRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]ghRequest(nil), g.reqs...)
}

func (g *fakeGitHub) settings() map[string]any {
	return map[string]any{"github": map[string]any{"repository": g.repo, "token": ghToken, "base_url": g.base}}
}

func TestGitHubIssueIsOpenedOnce(t *testing.T) {
	g := newFakeGitHub(t, "")
	p := start(t, g.settings())
	with := map[string]any{"title": "Refund failed for pi_123", "summary": "Stripe answered 500 three times.",
		"severity": "high", "labels": []any{"incident", "payments"}, "assignees": []any{"ana"}}
	out, logs, err := p.Execute("github_issue", with, inRun("escalate")...)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(map[string]any{"channel": "github_issue", "sandbox": false, "number": 1347.0,
		"url": "https://github.com/stewardhq/incidents/issues/1347", "created": true})
	if fmt.Sprint(out) != want {
		t.Errorf("outputs %v\nwant %s", out, want)
	}
	if len(logs) != 1 || logs[0].Message != "opened issue #1347: https://github.com/stewardhq/incidents/issues/1347" {
		t.Errorf("logs %v", logs)
	}
	reqs := g.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	list, create := reqs[0], reqs[1]
	if list.method != "GET" || list.path != "/repos/stewardhq/incidents/issues" ||
		list.query != "direction=desc&page=1&per_page=100&sort=created&state=all" {
		t.Errorf("list: %s %s?%s", list.method, list.path, list.query)
	}
	wantBody := "<!-- steward:idempotency-key=" + runID + ":escalate -->\n## Summary\n\nStripe answered 500 three times.\n\n**Severity:** high\n\n" +
		"## Run record\n\nOpened by Steward from run `" + runID + "`: see it with `steward show " + runID + "`.\n"
	if create.method != "POST" || create.path != "/repos/stewardhq/incidents/issues" || create.body["title"] != "Refund failed for pi_123" ||
		create.body["body"] != wantBody || fmt.Sprint(create.body["labels"]) != "[incident payments]" || fmt.Sprint(create.body["assignees"]) != "[ana]" {
		t.Errorf("create: %s %s %v", create.method, create.path, create.body)
	}
	for _, r := range reqs {
		h := r.header
		if h.Get("Authorization") != "Bearer "+ghToken || !strings.HasPrefix(h.Get("Accept"), "application/vnd.github") ||
			h.Get("X-GitHub-Api-Version") != "2022-11-28" || h.Get("User-Agent") != "steward-plugin-notify/1.0.0" {
			t.Errorf("headers %v", h)
		}
	}
	noSecret(t, ghToken, out, logs, err)

	// A retry of the step finds the issue: nothing more is opened.
	again, logs, err := p.Execute("github_issue", with, append(inRun("escalate"), sdktest.Attempt(2))...)
	want = fmt.Sprint(map[string]any{"channel": "github_issue", "sandbox": false, "number": 1347.0,
		"url": "https://github.com/stewardhq/incidents/issues/1347", "created": false})
	if err != nil || fmt.Sprint(again) != want {
		t.Fatalf("retry: %v %v", again, err)
	}
	if len(logs) != 1 || logs[0].Message != "issue #1347 was opened by an earlier attempt of this step: https://github.com/stewardhq/incidents/issues/1347" {
		t.Errorf("logs %v", logs)
	}
	if reqs := g.requests(); len(reqs) != 3 || reqs[2].method != "GET" {
		t.Errorf("the retry made %d requests", len(reqs)-2)
	}
	// Another step opens another issue.
	other, _, err := p.Execute("github_issue", with, inRun("escalate_again")...)
	if err != nil || other["number"] != 1348.0 || other["created"] != true {
		t.Errorf("another step: %v %v", other, err)
	}
}

func TestGitHubFindsTheMarkerOnLaterPages(t *testing.T) {
	g := newFakeGitHub(t, "/api/v3") // GitHub Enterprise Server's prefix
	key := runID + ":escalate"
	g.add("the issue of an earlier attempt", marker(key)+"\n## Summary\n\nx\n", false)
	g.add("a pull request quoting the marker", marker(key)+"\n", true)
	g.add("an issue quoting the marker, not first", "see\n"+marker(key)+"\n", false)
	for i := range 220 {
		g.add(fmt.Sprintf("other %d", i), "", false)
	}
	p := start(t, g.settings())
	out, _, err := p.Execute("github_issue", map[string]any{"title": "t", "summary": "s"}, inRun("escalate")...)
	if err != nil || out["number"] != 1347.0 || out["created"] != false {
		t.Fatalf("%v %v", out, err)
	}
	reqs := g.requests()
	if len(reqs) != 3 || reqs[2].path != "/api/v3/repos/stewardhq/incidents/issues" || !strings.Contains(reqs[2].query, "page=3") {
		t.Errorf("%d requests: %+v", len(reqs), reqs)
	}

	// Beyond the newest 300 issues, it is not looked for: a new one.
	for i := range 100 {
		g.add(fmt.Sprintf("newer %d", i), "", false)
	}
	out, _, err = p.Execute("github_issue", map[string]any{"title": "t", "summary": "s"}, inRun("escalate")...)
	if err != nil || out["created"] != true {
		t.Fatalf("%v %v", out, err)
	}
	if n := len(g.requests()); n != 3+issuePages+1 {
		t.Errorf("%d requests, want %d lists and a create", n-3, issuePages)
	}
}

func TestGitHubErrors(t *testing.T) {
	const reset = "1795259102" // 2026-11-21T11:05:02Z
	for _, c := range []struct {
		status    int
		headers   map[string]string
		body      string
		code      string
		retryable bool
		want      string
	}{
		{401, nil, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`, "auth_failed", false,
			"GitHub refused the token (401 Unauthorized: Bad credentials) while listing the issues of stewardhq/incidents: check plugins.settings.notify.github.token"},
		{403, nil, `{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest/issues/issues#list-repository-issues","status":"403"}`,
			"auth_failed", false, "the token may not do this (403 Forbidden: Resource not accessible by personal access token) while listing the issues of stewardhq/incidents: " +
				"a fine-grained token needs Issues: read and write on stewardhq/incidents, a classic one the repo scope"},
		{403, map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
			`{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`, "temporary", true,
			"GitHub's rate limit for the token is used up until 2026-11-21T11:05:02Z (API rate limit exceeded for user ID 1 (***).), while listing the issues of stewardhq/incidents: try again after that"},
		{403, map[string]string{"Retry-After": "60"},
			`{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
			"temporary", true, "GitHub's secondary rate limit stopped listing the issues of stewardhq/incidents (You have exceeded a secondary rate limit.): try again in 1m0s"},
		{404, nil, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/issues/issues#list-repository-issues","status":"404"}`, "not_found", false,
			"GitHub has no repository stewardhq/incidents, or the token cannot see it (404 Not Found: Not Found): check plugins.settings.notify.github.repository and the token's access"},
		{410, nil, `{"message":"Issues are disabled for this repo","documentation_url":"https://docs.github.com/v3/issues/","status":"410"}`, "rejected", false,
			"issues are disabled in stewardhq/incidents (410 Gone: Issues are disabled for this repo): enable them, or set github.repository to another repository"},
		{422, nil, `{"message":"Validation Failed","errors":[{"resource":"Issue","code":"invalid","field":"assignees","value":"ghost"}],"documentation_url":"https://docs.github.com/rest/issues/issues#create-an-issue","status":"422"}`,
			"rejected", false, "GitHub refused the request (422 Unprocessable Entity: Validation Failed; assignees invalid) while opening an issue in stewardhq/incidents: check with.labels and with.assignees"},
		{502, nil, `{"message":"Server Error"}`, "temporary", true,
			"GitHub failed (502 Bad Gateway: Server Error) while listing the issues of stewardhq/incidents: try again later"},
		{429, nil, `{"message":"Too many requests"}`, "temporary", true,
			"GitHub failed (429 Too Many Requests: Too many requests) while listing the issues of stewardhq/incidents: try again later"},
	} {
		g := newFakeGitHub(t, "")
		g.fail = func(r *http.Request) (int, map[string]string, string) {
			if c.status == 422 && r.Method == http.MethodGet {
				return 200, nil, "[]"
			}
			// A server that quotes the token back: it never reaches a message.
			return c.status, c.headers, strings.ReplaceAll(c.body, "user ID 1", "user ID 1 ("+ghToken+")")
		}
		p := start(t, g.settings())
		out, logs, err := p.Execute("github_issue", map[string]any{"title": "t", "summary": "s", "assignees": []any{"ghost"}}, inRun("escalate")...)
		sdktest.WantError(t, err, c.code, c.retryable, c.want)
		noSecret(t, ghToken, out, logs, err)
	}
}

func TestGitHubUnreachable(t *testing.T) {
	addr := peertest.RefusedAddr(t) // nothing listens there, nor can another process
	p := start(t, map[string]any{"github": map[string]any{"repository": "stewardhq/incidents", "token": ghToken, "base_url": "http://" + addr + "/"}})
	out, logs, err := p.Execute("github_issue", map[string]any{"title": "t", "summary": "s"}, inRun("escalate")...)
	sdktest.WantError(t, err, "connection", true, "could not reach GitHub at "+addr+" while listing the issues of stewardhq/incidents (dial tcp "+addr+": connect: connection refused): try again if it is down, or check github.base_url")
	noSecret(t, ghToken, out, logs, err)

	// Without an idempotency key nothing is sent.
	g := newFakeGitHub(t, "")
	p = start(t, g.settings())
	_, _, err = p.Execute("github_issue", map[string]any{"title": "Refund failed", "summary": "s"}, sdktest.IdempotencyKey(""))
	sdktest.WantError(t, err, "invalid_input", false, `no idempotency key: refusing to open the issue "Refund failed", a retry could open it twice`)
	if len(g.requests()) != 0 {
		t.Error("requests were sent")
	}
}

func TestGitHubTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first
	p := start(t, map[string]any{"github": map[string]any{"repository": "stewardhq/incidents", "token": ghToken, "base_url": srv.URL, "timeout": "200ms"}})
	_, _, err := p.Execute("github_issue", map[string]any{"title": "t", "summary": "s"}, inRun("escalate")...)
	sdktest.WantError(t, err, "connection", true, "GitHub did not answer within 200ms (github.timeout) while listing the issues of stewardhq/incidents: try again later, or raise github.timeout")
}
