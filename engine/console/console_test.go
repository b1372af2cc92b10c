package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// startForm is the refund-card form as a browser posts it.
func startForm(csrf, payment, token string) url.Values {
	return url.Values{csrfField: {csrf}, "input.payment_id": {payment}, "input.channel": {"chat"},
		"input.amount": {"25"}, "input.api_token": {token}, "mode": {"run"}}
}

// startRun posts the form as c and returns the new run's id.
func startRun(t testing.TB, c *client, token string) string {
	t.Helper()
	resp, body := c.post("/runbooks/refund-card", startForm(c.csrf("/runbooks/refund-card"), "pay_ABCDEF12", token))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %s\n%s", resp.Status, body)
	}
	id, ok := strings.CutPrefix(resp.Header.Get("Location"), "/runs/")
	if !ok || id == "" {
		t.Fatalf("start redirected to %q", resp.Header.Get("Location"))
	}
	return id
}

func TestCSRFRefused(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	ana := f.client(srv, "ana")
	other := f.client(srv, "lea")
	theirs := other.csrf("/runbooks/refund-card")
	for name, token := range map[string]string{"none": "", "wrong": "x" + theirs, "another session's": theirs} {
		form := startForm(token, "pay_ABCDEF12", "")
		if token == "" {
			form.Del(csrfField)
		}
		resp, body := ana.post("/runbooks/refund-card", form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "did not come from this console") {
			t.Errorf("%s token: %s\n%s", name, resp.Status, body)
		}
	}
	// Nothing ran.
	n := 0
	_ = f.svc.List(t.Context(), runs.Filter{}, func(runs.Summary) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d runs recorded after refused forms", n)
	}
	// Its own token is accepted.
	if id := startRun(t, ana, ""); id == "" {
		t.Fatal("no run")
	}
	// Logging out is a change too.
	if resp, _ := ana.post("/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without a token: %s", resp.Status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	ana := f.client(srv, "ana")
	for _, path := range []string{"/runs", "/runbooks", "/runbooks/refund-card", "/approvals", "/audit", "/static/console.css", "/runs/nope", "/runbooks/nope"} {
		resp, body := ana.get(path)
		if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", path, got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
		if strings.HasSuffix(path, ".css") {
			continue
		}
		// No inline script or style for the policy to block.
		if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(body) || strings.Contains(body, "<style") || strings.Contains(body, " style=") {
			t.Errorf("%s has inline script or style", path)
		}
	}
	if !strings.Contains(ContentSecurityPolicy, "default-src 'self'") || strings.Contains(ContentSecurityPolicy, "unsafe-inline") {
		t.Fatalf("policy %q", ContentSecurityPolicy)
	}
}

func TestCookieFlags(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	visitor := f.client(srv, "")
	resp, _ := visitor.get("/runs")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a visitor without login: %s", resp.Status)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != sessionCookie {
		t.Fatalf("cookies %v", cookies)
	}
	tok := visitor.csrf("/runs")
	resp, _ = visitor.post("/lang", url.Values{csrfField: {tok}, "lang": {"zh"}, "return": {"/runs"}})
	cookies = append(cookies, resp.Cookies()...)
	if len(cookies) != 2 {
		t.Fatalf("cookies %v", cookies)
	}
	for _, c := range cookies {
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("cookie %s: secure %v httponly %v samesite %v", c.Name, c.Secure, c.HttpOnly, c.SameSite)
		}
	}
	// A session cookie changed by the browser is not one.
	s := session{ID: "x", Subject: "lea"}
	forged := f.console.cookies.sign(mustJSON(s))
	forged = strings.Replace(forged, forged[:4], "AAAA", 1)
	req, _ := http.NewRequest("GET", srv.URL+"/runs", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: forged})
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged session: %s", r.Status)
	}
}

func TestSecretNeverRendered(t *testing.T) {
	const secret = "tok-S3CR3T-never-shown"
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	ana := f.client(srv, "ana")
	// An invalid form is shown again: the other values kept, never the
	// secret.
	resp, body := ana.post("/runbooks/refund-card", startForm(ana.csrf("/runbooks/refund-card"), "not-a-payment", secret))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="not-a-payment"`) {
		t.Fatalf("invalid form: %s\n%s", resp.Status, body)
	}
	if strings.Contains(body, secret) {
		t.Fatal("the form echoed the secret back")
	}
	if !strings.Contains(body, `type="password"`) {
		t.Fatal("the secret input is not a password field")
	}
	id := startRun(t, ana, secret)
	f.waitStatus(t, id, "waiting")
	lea := f.client(srv, "lea")
	for _, c := range []*client{ana, lea} {
		for _, path := range []string{"/runs", "/runs/" + id, "/approvals", "/audit?run=" + id, "/audit/export?run=" + id, "/runbooks/refund-card"} {
			resp, body := c.get(path)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %s", path, resp.Status)
			}
			if strings.Contains(body, secret) {
				t.Errorf("%s shows the secret", path)
			}
		}
	}
	_, page := lea.get("/runs/" + id)
	if !strings.Contains(page, `&#34;api_token&#34;: &#34;***&#34;`) && !strings.Contains(page, `"api_token": "***"`) {
		t.Errorf("the run's inputs do not show the secret redacted:\n%s", page)
	}
	// The approval asks for the secret again (the journal never keeps
	// it), as a password field.
	if !strings.Contains(page, `name="secret.api_token" type="password"`) {
		t.Errorf("the decision form does not ask for the secret input:\n%s", page)
	}
}

func TestDecideFourEyes(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	ana, lea, viewer := f.client(srv, "ana"), f.client(srv, "lea"), f.client(srv, "viewer")
	id := startRun(t, ana, "")
	f.waitStatus(t, id, "waiting")

	// The starter sees why she may not decide, and is refused if she
	// posts anyway: the run service's four-eyes rule.
	_, page := ana.get("/runs/" + id)
	if !strings.Contains(page, "ana started run "+id+" and cannot approve its steps: four eyes") {
		t.Fatalf("no reason shown to the starter:\n%s", page)
	}
	decide := func(c *client, decision string) (*http.Response, string) {
		// The secret input is given again: the journal never keeps it.
		return c.post("/runs/"+id+"/decide", url.Values{csrfField: {c.csrf("/runs/" + id)}, "step": {"refund"},
			"decision": {decision}, "comment": {"ok"}, "secret.api_token": {"tok-again"}})
	}
	resp, body := decide(ana, "approve")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "four eyes") {
		t.Fatalf("the starter's approval: %s\n%s", resp.Status, body)
	}
	resp, body = decide(viewer, "approve")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "needs the approver role") {
		t.Fatalf("a viewer's approval: %s\n%s", resp.Status, body)
	}
	_, inbox := ana.get("/approvals")
	if !strings.Contains(inbox, "four eyes") {
		t.Fatalf("ana's inbox does not say why:\n%s", inbox)
	}
	_, inbox = lea.get("/approvals")
	if !strings.Contains(inbox, `id="mine"`) || !strings.Contains(inbox, "/runs/"+id) {
		t.Fatalf("lea's inbox:\n%s", inbox)
	}
	resp, body = decide(lea, "approve")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("lea's approval: %s\n%s", resp.Status, body)
	}
	r := f.waitStatus(t, id, "succeeded")
	if len(r.State.Decisions) != 1 || r.State.Decisions[0].By != "lea" || !r.State.Decisions[0].Approved {
		t.Fatalf("decisions %+v", r.State.Decisions)
	}
	// A second decision is refused: decided once.
	resp, _ = decide(lea, "deny")
	if resp.StatusCode == http.StatusSeeOther {
		t.Fatal("a second decision was accepted")
	}
}

func TestI18n(t *testing.T) {
	cats, err := catalogs()
	if err != nil {
		t.Fatal(err)
	}
	en, zh := cats["en"], cats["zh"]
	for _, k := range en.keys() {
		if zh[k] == "" {
			t.Errorf("zh lacks %s", k)
		}
		if strings.Count(en[k], "%") != strings.Count(zh[k], "%") {
			t.Errorf("%s: en and zh take different arguments", k)
		}
	}
	for _, k := range zh.keys() {
		if en[k] == "" {
			t.Errorf("en lacks %s", k)
		}
	}
	// Every key the templates and the code use is in the catalogs.
	used := regexp.MustCompile(`T[ (]"([a-z_.]+)"`)
	files := []string{}
	_ = fs.WalkDir(templateFiles, ".", func(p string, d fs.DirEntry, err error) error {
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	for _, p := range files {
		b, _ := templateFiles.ReadFile(p)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if en[m[1]] == "" {
				t.Errorf("%s uses %s, in no catalog", p, m[1])
			}
		}
	}
	for _, s := range append(runStatuses, "pending", "queued", "skipped") {
		if en["status."+s] == "" {
			t.Errorf("no message for status %s", s)
		}
	}

	f := newFixture(t, nil)
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	ana := f.client(srv, "ana")
	get := func(lang string) string {
		req, _ := http.NewRequest("GET", srv.URL+"/runbooks", nil)
		req.Header.Set("Accept-Language", lang)
		resp, err := ana.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readBody(t, resp)
	}
	if b := get("zh-CN,zh;q=0.9,en;q=0.5"); !strings.Contains(b, `lang="zh-Hans"`) || !strings.Contains(b, "运行手册") {
		t.Fatal("Accept-Language zh-CN did not give Chinese")
	}
	if b := get("fr-FR"); !strings.Contains(b, `lang="en"`) || !strings.Contains(b, "Runbooks") {
		t.Fatal("an unknown language did not give English")
	}
	// The switch wins over the browser's language.
	resp, _ := ana.post("/lang", url.Values{csrfField: {ana.csrf("/runbooks")}, "lang": {"zh"}, "return": {"/runbooks"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/runbooks" {
		t.Fatalf("switch: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	if b := get("en-US"); !strings.Contains(b, "运行手册") {
		t.Fatal("the language switch did not stick")
	}
	// Never a redirect elsewhere.
	resp, _ = ana.post("/lang", url.Values{csrfField: {ana.csrf("/runbooks")}, "lang": {"en"}, "return": {"//evil.example/"}})
	if resp.Header.Get("Location") != "/" {
		t.Fatalf("redirected to %s", resp.Header.Get("Location"))
	}
}

// TestStaticPinned: the embedded htmx files are the pinned releases.
func TestStaticPinned(t *testing.T) {
	for file, want := range map[string]string{
		"static/htmx-2.0.11.min.js":        "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
		"static/htmx-ext-sse-2.2.4.min.js": "98a46496de0c3605fbffdce9167ba427bdd9553184f83f149c261891a92c0136",
	} {
		b, err := staticFiles.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, pinned %s", file, got, want)
		}
	}
}

func TestForm(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	_, page := f.client(srv, "ana").get("/runbooks/refund-card")
	for _, want := range []string{
		`name="input.payment_id" type="text" value="" required pattern="^pay_[A-Za-z0-9]{6,}$"`,
		`<select id="input-channel" name="input.channel">`,
		`<option value="chat">chat</option>`,
		`name="input.amount" type="number" value="10" step="1"`,
		`name="input.api_token" type="password" autocomplete="off"`,
		`Payment id from the ticket`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	// A viewer reads it, without the buttons.
	_, page = f.client(srv, "viewer").get("/runbooks/refund-card")
	if strings.Contains(page, `id="run-button"`) {
		t.Fatal("a viewer is offered to run")
	}
	resp, _ := f.client(srv, "viewer").post("/runbooks/refund-card", startForm(f.client(srv, "viewer").csrf("/runbooks/refund-card"), "pay_ABCDEF12", ""))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer's run: %s", resp.Status)
	}
	_, list := f.client(srv, "ana").get("/runbooks?q=card")
	if !strings.Contains(list, "refund-card") {
		t.Fatal("the search does not find refund-card")
	}
	_, list = f.client(srv, "ana").get("/runbooks?q=zzz-nothing")
	if strings.Contains(list, `href="/runbooks/refund-card"`) {
		t.Fatal("the search finds what it should not")
	}
}

// TestSessionKeyShared: consoles given the same session key (replicas of
// steward serve with server.session_key, or one restarted) accept each
// other's sessions; a console with another key does not.
func TestSessionKeyShared(t *testing.T) {
	f := newFixture(t, nil)
	other := func(key string) *httptest.Server {
		folders := []string{f.folder}
		c, err := New(context.Background(), Config{Runs: f.svc, Store: f.store,
			Runbooks:   func() ([]*runbooks.Entry, error) { return runbooks.List(folders) },
			Resolve:    func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, folders) },
			Grants:     func(sub string) []auth.Grant { return f.grants[sub] },
			SessionKey: []byte(key)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(c)
		t.Cleanup(srv.Close)
		return srv
	}
	for key, want := range map[string]int{
		"0123456789abcdef0123456789abcdef": http.StatusOK,           // the fixture's
		"another key of thirty-two bytes!": http.StatusUnauthorized, // not the same
	} {
		srv := other(key)
		resp, _ := f.client(srv, "ana").get("/runs")
		if resp.StatusCode != want {
			t.Errorf("a session of the fixture's console on one with key %q: %s, want %d", key, resp.Status, want)
		}
	}
}
