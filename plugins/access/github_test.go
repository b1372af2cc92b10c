package main

// Tests of the github backend. No GitHub is reachable from the tests, so
// an httptest server stands in for it, answering the documented REST
// shapes (docs.github.com/rest: orgs/members, teams/teams,
// teams/members, users) of the requests the backend makes:
//
//	GET    /orgs/{org}/memberships/{username}
//	DELETE /orgs/{org}/memberships/{username}
//	GET    /orgs/{org}/teams                    (paginated with Link)
//	GET    /orgs/{org}/teams/{team_slug}
//	GET    /orgs/{org}/teams/{team_slug}/members (paginated with Link)
//	GET    /orgs/{org}/teams/{team_slug}/memberships/{username}
//	PUT    /orgs/{org}/teams/{team_slug}/memberships/{username}
//	DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}
//	GET    /users/{username}
//
// and GET /orgs/{org}/members/{username} (204 or 404), which it does not
// use. Faults (401, 403, 404, 5xx, 429, rate limits, timeouts) are in
// faults_test.go.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/plugins/access/internal/seed"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

const testToken = "ghp_T0kenThatMustNeverLeak0123456789"

// fakeGitHub is an organization, its teams and GitHub's users. Its teams
// list is paginated two teams a page, whatever per_page says, so that the
// backend follows Link headers.
type fakeGitHub struct {
	t   *testing.T
	org string
	url string

	mu       sync.Mutex
	users    map[string]bool   // every GitHub user
	members  map[string]string // org members: login -> state (active, pending)
	owners   map[string]bool
	teams    map[string]map[string]string // slug -> login -> state
	requests []string                     // "METHOD PATH"
	// fault, when set, answers instead of the fake.
	fault func(w http.ResponseWriter, r *http.Request) bool
}

// newFakeGitHub is the github seed as organization stewardhq; GitHub also
// has the user octocat, who is not a member.
func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{t: t, org: "stewardhq", users: map[string]bool{"octocat": true}, members: map[string]string{},
		owners: map[string]bool{"frank": true}, teams: map[string]map[string]string{}}
	for _, a := range seed.Accounts(seed.GitHub) {
		f.users[a.Name], f.members[a.Name] = true, "active"
	}
	for _, g := range seed.Groups(seed.GitHub) {
		f.teams[g.Name] = map[string]string{}
		for _, m := range g.Members {
			f.teams[g.Name][m] = "active"
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/"
	return f
}

func (f *fakeGitHub) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// team renders a team's members and their states.
func (f *fakeGitHub) teamState(slug string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.teams[slug])
}

// setFault sets (or clears, with nil) the fault.
func (f *fakeGitHub) setFault(fault func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
}

func (f *fakeGitHub) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, 404, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
}

func (f *fakeGitHub) user(login string) map[string]any {
	return map[string]any{"login": login, "id": len(login) * 1000, "node_id": "U_" + login, "type": "User", "site_admin": false,
		"url": f.url + "users/" + login, "html_url": "https://github.com/" + login}
}

func (f *fakeGitHub) team(slug string) map[string]any {
	return map[string]any{"id": len(slug), "node_id": "T_" + slug, "name": strings.ToUpper(slug[:1]) + slug[1:], "slug": slug,
		"description": "", "privacy": "closed", "notification_setting": "notifications_enabled", "permission": "pull",
		"url": f.url + "orgs/" + f.org + "/teams/" + slug, "html_url": "https://github.com/orgs/" + f.org + "/teams/" + slug,
		"members_url": f.url + "orgs/" + f.org + "/teams/" + slug + "/members{/member}", "parent": nil}
}

// page answers one page of items with GitHub's Link header.
func (f *fakeGitHub) page(w http.ResponseWriter, r *http.Request, items []any, size int) {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	n = max(n, 1)
	from, to := min((n-1)*size, len(items)), min(n*size, len(items))
	if to < len(items) {
		next := *r.URL
		q := next.Query()
		q.Set("page", strconv.Itoa(n+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, strings.TrimSuffix(f.url, "/"), next.RequestURI()))
	}
	writeJSON(w, 200, append([]any{}, items[from:to]...))
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if f.fault != nil && f.fault(w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		writeJSON(w, 401, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
		return
	}
	if r.Header.Get("Accept") != "application/vnd.github.v3+json" || !strings.HasPrefix(r.Header.Get("User-Agent"), "steward-plugin-access/") {
		f.t.Errorf("%s %s: Accept %q, User-Agent %q", r.Method, r.URL.Path, r.Header.Get("Accept"), r.Header.Get("User-Agent"))
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	route := r.Method + " " + strings.Join(parts, "/")
	switch {
	case len(parts) == 2 && parts[0] == "users" && r.Method == "GET":
		if !f.users[parts[1]] {
			notFound(w)
			return
		}
		writeJSON(w, 200, f.user(parts[1]))
	case len(parts) < 3 || parts[0] != "orgs" || parts[1] != f.org:
		notFound(w)
	case len(parts) == 4 && parts[2] == "members" && r.Method == "GET":
		if f.members[parts[3]] != "active" {
			notFound(w)
			return
		}
		w.WriteHeader(204)
	case len(parts) == 4 && parts[2] == "memberships":
		login := parts[3]
		state, ok := f.members[login]
		if !ok {
			notFound(w)
			return
		}
		switch r.Method {
		case "GET":
			role := "member"
			if f.owners[login] {
				role = "admin"
			}
			writeJSON(w, 200, map[string]any{"url": f.url + "orgs/" + f.org + "/memberships/" + login, "state": state, "role": role,
				"organization_url": f.url + "orgs/" + f.org, "organization": map[string]any{"login": f.org, "id": 1}, "user": f.user(login)})
		case "DELETE":
			// Leaving the organization leaves its teams.
			delete(f.members, login)
			for _, t := range f.teams {
				delete(t, login)
			}
			w.WriteHeader(204)
		default:
			f.t.Errorf("unexpected %s", route)
			w.WriteHeader(405)
		}
	case len(parts) == 3 && parts[2] == "teams" && r.Method == "GET":
		var items []any
		for _, slug := range slices.Sorted(maps.Keys(f.teams)) {
			items = append(items, f.team(slug))
		}
		f.page(w, r, items, 2)
	case len(parts) >= 4 && parts[2] == "teams":
		members, ok := f.teams[parts[3]]
		if !ok {
			notFound(w)
			return
		}
		switch {
		case len(parts) == 4 && r.Method == "GET":
			writeJSON(w, 200, f.team(parts[3]))
		case len(parts) == 5 && parts[4] == "members" && r.Method == "GET":
			if r.URL.Query().Get("role") != "all" {
				f.t.Errorf("%s without role=all", route)
			}
			var items []any
			for _, login := range slices.Sorted(maps.Keys(members)) {
				if members[login] == "active" {
					items = append(items, f.user(login))
				}
			}
			f.page(w, r, items, 100)
		case len(parts) == 6 && parts[4] == "memberships":
			login := parts[5]
			url := f.url + "orgs/" + f.org + "/teams/" + parts[3] + "/memberships/" + login
			switch r.Method {
			case "GET":
				state, ok := members[login]
				if !ok {
					notFound(w)
					return
				}
				writeJSON(w, 200, map[string]any{"url": url, "role": "member", "state": state})
			case "PUT":
				body, _ := io.ReadAll(r.Body)
				if string(body) != `{"role":"member"}`+"\n" {
					f.t.Errorf("%s body %q", route, body)
				}
				if !f.users[login] {
					notFound(w)
					return
				}
				state := "active"
				if f.members[login] != "active" {
					state = "pending"
				}
				members[login] = state
				writeJSON(w, 200, map[string]any{"url": url, "role": "member", "state": state})
			case "DELETE":
				if _, ok := members[login]; !ok {
					notFound(w)
					return
				}
				delete(members, login)
				w.WriteHeader(204)
			}
		default:
			f.t.Errorf("unexpected %s", route)
			notFound(w)
		}
	default:
		f.t.Errorf("unexpected %s", route)
		notFound(w)
	}
}

// githubPlugin runs the plugin with the fake as backend "github" beside
// the directory sandbox.
func githubPlugin(t *testing.T, f *fakeGitHub, kv ...any) *sdktest.Plugin {
	t.Helper()
	gh := map[string]any{"org": f.org, "token": testToken, "base_url": f.url}
	for i := 0; i < len(kv); i += 2 {
		gh[kv[i].(string)] = kv[i+1]
	}
	return start(t, map[string]any{"backends": map[string]any{
		"directory": map[string]any{"type": "sandbox"},
		"github":    map[string]any{"type": "github", "github": gh},
	}})
}

// ghRun executes an action and checks the token appears nowhere.
func ghRun(t *testing.T, p *sdktest.Plugin, action string, with map[string]any) (map[string]any, []sdktest.Log, error) {
	t.Helper()
	out, logs, err := p.Execute(action, with)
	secretNowhere(t, testToken, err, logs)
	if strings.Contains(fmt.Sprint(out), testToken) {
		t.Errorf("the token is in the outputs: %v", out)
	}
	return out, slices.DeleteFunc(logs, func(l sdktest.Log) bool { return l.Level == "debug" }), err
}

func ghMust(t *testing.T, p *sdktest.Plugin, action string, with map[string]any) map[string]any {
	t.Helper()
	out, _, err := ghRun(t, p, action, with)
	if err != nil {
		t.Fatalf("%s %v: %v", action, with, err)
	}
	return out
}

func TestGitHub(t *testing.T) {
	f := newFakeGitHub(t)
	p := githubPlugin(t, f)

	for _, g := range seed.Groups(seed.GitHub) {
		out := ghMust(t, p, "list_members", map[string]any{"backend": "github", "group": g.Name})
		if fmt.Sprint(out["members"]) != fmt.Sprint(slices.Sorted(slices.Values(g.Members))) || out["type"] != "github" || out["backend"] != "github" {
			t.Errorf("%s: %v", g.Name, out)
		}
	}
	f.reset()
	out := ghMust(t, p, "list_grants", map[string]any{"user": "ben"})
	if grantsOf(out) != "directory/engineering directory/prod-admins directory/vpn github/admins github/backend github/sre" ||
		accountsOf(out) != "directory(sandbox):ben exists=true disabled=false github(github):ben exists=true disabled=false" {
		t.Errorf("ben: %s; %s", grantsOf(out), accountsOf(out))
	}
	want := "GET /orgs/stewardhq/memberships/ben GET /orgs/stewardhq/teams GET /orgs/stewardhq/teams " +
		"GET /orgs/stewardhq/teams/admins/memberships/ben GET /orgs/stewardhq/teams/backend/memberships/ben " +
		"GET /orgs/stewardhq/teams/sre/memberships/ben GET /orgs/stewardhq/teams/support/memberships/ben"
	if got := strings.Join(f.calls(), " "); got != want {
		t.Errorf("requests\n got %s\nwant %s", got, want)
	}
	// hal and octocat have no account in the organization; "a.b" cannot be
	// a login.
	for _, user := range []string{"hal", "octocat", "a.b"} {
		out := ghMust(t, p, "list_grants", map[string]any{"user": user, "accounts": map[string]any{"directory": "hal"}})
		if !strings.HasSuffix(accountsOf(out), "github(github):"+user+" exists=false disabled=false") {
			t.Errorf("%s: %s", user, accountsOf(out))
		}
	}
	_, _, err := ghRun(t, p, "list_members", map[string]any{"backend": "github", "group": "ops"})
	sdktest.WantError(t, err, "not_found", false, "no team ops in the GitHub organization stewardhq (backend github)")

	// grant, revoke, twice each.
	f.reset()
	grant := map[string]any{"backend": "github", "group": "sre", "user": "eve"}
	if out := ghMust(t, p, "grant", grant); out["changed"] != true {
		t.Errorf("grant: %v", out)
	}
	if got := strings.Join(f.calls(), " "); got != "GET /orgs/stewardhq/teams/sre/memberships/eve GET /orgs/stewardhq/teams/sre "+
		"GET /orgs/stewardhq/memberships/eve PUT /orgs/stewardhq/teams/sre/memberships/eve" {
		t.Errorf("grant's requests %s", got)
	}
	if out := ghMust(t, p, "grant", grant); out["changed"] != false {
		t.Errorf("grant again: %v", out)
	}
	if f.teamState("sre") != "map[ben:active dmitri:active eve:active]" {
		t.Errorf("sre: %v", f.teamState("sre"))
	}
	revoke := map[string]any{"backend": "github", "group": "admins", "user": "ben"}
	if out := ghMust(t, p, "revoke", revoke); out["changed"] != true {
		t.Errorf("revoke: %v", out)
	}
	if out := ghMust(t, p, "revoke", revoke); out["changed"] != false {
		t.Errorf("revoke again: %v", out)
	}
	if out := ghMust(t, p, "revoke", map[string]any{"backend": "github", "group": "admins", "user": "zoe"}); out["changed"] != false {
		t.Errorf("revoke of someone unknown: %v", out)
	}
	if f.teamState("admins") != "map[frank:active]" {
		t.Errorf("admins: %v", f.teamState("admins"))
	}

	// disable: out of the organization, and so of its teams.
	out, logs, err := ghRun(t, p, "disable_account", map[string]any{"backend": "github", "user": "frank"})
	if err != nil || out["changed"] != true || logs[1] != (sdktest.Log{Level: "warn", Message: "frank is an owner of the organization stewardhq"}) {
		t.Errorf("disable: %v %v %v", out, logs, err)
	}
	if out["sessions"] != "frank is out of the organization: GitHub refuses its sessions, tokens and SSH keys access to the organization's repositories from now on" ||
		out["ssh_keys_removed"] != float64(0) {
		t.Errorf("disable: sessions %q, %v keys removed", out["sessions"], out["ssh_keys_removed"])
	}
	if out := ghMust(t, p, "disable_account", map[string]any{"backend": "github", "user": "frank"}); out["changed"] != false {
		t.Errorf("disable again: %v", out)
	}
	out = ghMust(t, p, "list_grants", map[string]any{"user": "frank"})
	if accountsOf(out) != "directory(sandbox):frank exists=true disabled=false github(github):frank exists=false disabled=false" ||
		grantsOf(out) != "directory/prod-admins" {
		t.Errorf("frank: %s; %s", accountsOf(out), grantsOf(out))
	}

	for _, c := range []struct {
		action     string
		with       map[string]any
		code, want string
	}{
		{"grant", map[string]any{"backend": "github", "group": "sre", "user": "octocat"}, "not_found",
			"no account octocat on github: the GitHub user octocat is not a member of the organization stewardhq; invite them to it first"},
		{"grant", map[string]any{"backend": "github", "group": "sre", "user": "frank"}, "not_found",
			"no account frank on github: the GitHub user frank is not a member of the organization stewardhq; invite them to it first"},
		{"grant", map[string]any{"backend": "github", "group": "sre", "user": "zoe"}, "not_found", "no GitHub user zoe (backend github)"},
		{"grant", map[string]any{"backend": "github", "group": "ops", "user": "ana"}, "not_found", "no team ops in the GitHub organization stewardhq (backend github)"},
		{"revoke", map[string]any{"backend": "github", "group": "ops", "user": "ana"}, "not_found", "no team ops in the GitHub organization stewardhq (backend github)"},
		{"disable_account", map[string]any{"backend": "github", "user": "zoe"}, "not_found", "no GitHub user zoe (backend github)"},
	} {
		_, _, err := ghRun(t, p, c.action, c.with)
		sdktest.WantError(t, err, c.code, false, c.want)
	}
	// What cannot be a login or a slug is refused before any request.
	f.reset()
	for _, c := range []struct {
		action, want string
		with         map[string]any
	}{
		{"grant", `"../../admin" is not a GitHub login: a login is letters, digits and -, at most 39`, map[string]any{"backend": "github", "group": "sre", "user": "../../admin"}},
		{"revoke", `"sre/../../x" is not a GitHub team slug: a slug is lower case letters, digits, ., _ and -`, map[string]any{"backend": "github", "group": "sre/../../x", "user": "ana"}},
		{"list_members", `"a?b" is not a GitHub team slug: a slug is lower case letters, digits, ., _ and -`, map[string]any{"backend": "github", "group": "a?b"}},
		{"disable_account", `"ana@example.org" is not a GitHub login: a login is letters, digits and -, at most 39`, map[string]any{"backend": "github", "user": "ana@example.org"}},
	} {
		_, _, err := ghRun(t, p, c.action, c.with)
		sdktest.WantError(t, err, "invalid_request", false, c.want)
	}
	if n := len(f.calls()); n != 0 {
		t.Errorf("%d requests for invalid names", n)
	}
}

// TestGitHubPending: an invited login exists; a grant to it is pending.
func TestGitHubPending(t *testing.T) {
	f := newFakeGitHub(t)
	f.mu.Lock()
	f.users["ivy"], f.members["ivy"] = true, "pending"
	f.mu.Unlock()
	p := githubPlugin(t, f)
	out, logs, err := ghRun(t, p, "grant", map[string]any{"backend": "github", "group": "backend", "user": "ivy"})
	if err != nil || out["changed"] != true || logs[1].Message != "the membership of ivy in backend is pending until they accept the organization's invitation" {
		t.Fatalf("%v %v %v", out, logs, err)
	}
	out, logs, err = ghRun(t, p, "list_grants", map[string]any{"user": "ivy", "backend": "github"})
	if err != nil || grantsOf(out) != "github/backend" || accountsOf(out) != "github(github):ivy exists=true disabled=false" ||
		logs[1].Message != "ivy is invited to the organization stewardhq and has not accepted yet" {
		t.Errorf("%v %v %v", out, logs, err)
	}
	// A pending membership is not listed by GitHub among the members.
	if out := ghMust(t, p, "list_members", map[string]any{"backend": "github", "group": "backend"}); fmt.Sprint(out["members"]) != "[ana ben]" {
		t.Errorf("backend: %v", out["members"])
	}
}
