package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromium is Debian's Chromium (make tools installs it).
const chromium = "/usr/bin/chromium"

// artifacts is where the browser test writes its screenshots: the folder
// STEWARD_ARTIFACTS names, else the test's artifact folder (kept under
// the output folder with go test -artifacts -outputdir DIR).
func artifacts(t *testing.T) string {
	if d := os.Getenv("STEWARD_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

// provider is a real OpenID provider process (internal/testop, built
// from zitadel/oidc's op example) with two users: ana, who starts runs,
// and lea, a lead who approves them.
func startProvider(t *testing.T, redirect string) (issuer string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "testop")
	build := exec.Command("go", "build", "-o", bin, "./internal/testop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the OpenID provider: %v\n%s", err, out)
	}
	users := map[string]any{
		"id-ana": map[string]any{"ID": "id-ana", "Username": "ana", "Password": "ana-password", "FirstName": "Ana", "LastName": "Silva",
			"Email": "ana@example.com", "EmailVerified": true, "PreferredLanguage": "en"},
		"id-lea": map[string]any{"ID": "id-lea", "Username": "lea", "Password": "lea-password", "FirstName": "Lea", "LastName": "Wang",
			"Email": "lea@example.com", "EmailVerified": true, "PreferredLanguage": "zh"},
	}
	file := filepath.Join(dir, "users.json")
	if err := os.WriteFile(file, mustJSON(users), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-users", file, "-client", "steward-console", "-secret", "console-secret", "-redirect", redirect)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the OpenID provider printed no issuer: %v", err)
	}
	return strings.TrimSpace(line)
}

// browser is a headless Chromium tab, with every console message and
// browser log entry of its pages kept.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	mu   sync.Mutex
	logs []string
}

func newBrowser(t *testing.T, alloc context.Context, dir string) *browser {
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, dir: dir}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			b.logs = append(b.logs, fmt.Sprintf("%s %s: %s (%s)", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
		case *cdpruntime.EventExceptionThrown:
			b.logs = append(b.logs, "exception: "+ev.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// screenshot writes the page as NAME.png in the artifacts folder.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	file := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return file
}

// login logs in through the provider's own login page.
func (b *browser) login(user, password string) {
	b.t.Helper()
	b.do("the provider's login page", chromedp.WaitVisible(chromedp.CSS("#username")))
	b.do("logging in as "+user,
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#user")))
	if got := b.text("#user"); !strings.Contains(got, user) {
		b.t.Fatalf("logged in as %q, want %s", got, user)
	}
}

// axeViolation is what axe-core reports of a rule a page breaks.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axe injects axe-core into the page and fails on any serious or
// critical violation (WCAG 2.x A and AA rules, and best practices).
func (b *browser) axe(script, page string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](script+";true")); err != nil {
		b.t.Fatalf("injecting axe-core: %v", err)
	}
	type axeResult struct {
		Violations []axeViolation `json:"violations"`
		Passes     int            `json:"passes"`
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](
		`axe.run(document).then(r => ({violations: r.violations, passes: r.passes.length}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe-core on %s: %v", page, err)
	}
	if res.Passes == 0 {
		b.t.Fatalf("axe-core checked nothing on %s", page)
	}
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("accessibility, %s: %s %s (%s) at %v", page, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			b.t.Logf("accessibility, %s: %s %s (%s)", page, v.Impact, v.ID, v.Help)
		}
	}
}

// cspViolations are the browser's reports of what the Content-Security-
// Policy blocked, and the pages' uncaught exceptions.
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range b.logs {
		if strings.Contains(l, "Content Security Policy") || strings.HasPrefix(l, "exception") {
			out = append(out, l)
		}
	}
	return out
}

// TestBrowser drives the console in headless Chromium: ana logs in
// through a real OpenID provider, starts refund-card from its form with
// the keyboard only, watches the live timeline reach waiting, is refused
// as the starter with the reason shown; lea logs in, in a browser of her
// own, approves from her inbox, and ana's page, live over Server-Sent
// Events, shows the run finish; the audit page verifies the run. Every
// page is checked by axe-core and kept as a screenshot.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is not installed at %s: make tools installs it (Debian package chromium): %v", chromium, err)
	}
	_, self, _, _ := runtime.Caller(0)
	axeFile := filepath.Join(filepath.Dir(self), "..", "..", ".tools", "node_modules", "axe-core", "axe.min.js")
	axeScript, err := os.ReadFile(axeFile)
	if err != nil {
		t.Fatalf("axe-core is not installed: run make tools-npm (%v)", err)
	}
	dir := artifacts(t)
	t.Logf("screenshots in %s", dir)

	// The console's address comes first: the provider registers its
	// redirect URL.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	issuer := startProvider(t, base+"/auth/callback")
	f := newFixture(t, &OIDC{Issuer: issuer, ClientID: "steward-console", ClientSecret: "console-secret", RedirectURL: base + "/auth/callback"})
	// A scheduler and plugins defined by the test, for their pages.
	f.console.cfg.Schedules, f.console.cfg.Plugins = &testSchedules{}, testPlugins{}
	srv.Config.Handler = f.console
	srv.Start()
	t.Cleanup(srv.Close)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		// Chromium's own temporary files, removed with the test's.
		chromedp.Env("TMPDIR="+t.TempDir()),
	)
	t.Cleanup(cancel)
	// The browser itself (its first tab), then one browser context, with
	// cookies of its own, for each person.
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	ana := newBrowser(t, root, dir)
	axe := string(axeScript)

	// Log in as ana: the console sends her to the provider and back.
	ana.do("the runbook's page", chromedp.Navigate(base+"/runbooks/refund-card"))
	ana.login("ana", "ana-password")
	if loc := ana.location(); loc != base+"/runbooks/refund-card" {
		t.Fatalf("after login at %s", loc)
	}
	ana.screenshot("runbook")
	ana.axe(axe, "runbook")

	// Keyboard only: Tab from the top of the page to the form's fields,
	// in order; type; Enter submits. A payment id that the pattern
	// refuses is not submitted.
	order := []string{}
	if _, err := chromedp.Run(ana.ctx, chromedp.Evaluate[bool](`document.activeElement.blur(); window.focus(); true`)); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		ana.do("Tab", chromedp.KeyEvent(kb.Tab))
		id, err := chromedp.Run(ana.ctx, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.tagName`))
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, id)
		if id == "input-payment_id" {
			break
		}
	}
	if order[0] != "A" || order[len(order)-1] != "input-payment_id" {
		t.Fatalf("Tab order from the top: %v", order)
	}
	ana.do("type a payment id the pattern refuses", chromedp.KeyEvent("bad"), chromedp.KeyEvent(kb.Enter))
	valid, err := chromedp.Run(ana.ctx, chromedp.Evaluate[bool](`document.querySelector("#input-payment_id").validity.valid`))
	if err != nil || valid {
		t.Fatalf("the pattern did not refuse 'bad' (valid %v, %v)", valid, err)
	}
	if loc := ana.location(); loc != base+"/runbooks/refund-card" {
		t.Fatalf("an invalid form was submitted: at %s", loc)
	}
	var fields []string
	ana.do("fix it", chromedp.KeyEvent(kb.Backspace+kb.Backspace+kb.Backspace), chromedp.KeyEvent("pay_ABCDEF12"))
	for range 5 {
		ana.do("Tab", chromedp.KeyEvent(kb.Tab))
		id, _ := chromedp.Run(ana.ctx, chromedp.Evaluate[string](`document.activeElement.id`))
		fields = append(fields, id)
	}
	if want := []string{"input-channel", "input-amount", "input-api_token", "run-button", "dry-run-button"}; strings.Join(fields, " ") != strings.Join(want, " ") {
		t.Fatalf("Tab order in the form: %v, want %v", fields, want)
	}
	// Back to the payment id (Shift+Tab), and Enter submits the form
	// with its first button: run.
	for range 5 {
		ana.do("Shift+Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	if id, _ := chromedp.Run(ana.ctx, chromedp.Evaluate[string](`document.activeElement.id`)); id != "input-payment_id" {
		t.Fatalf("Shift+Tab went to %s", id)
	}
	ana.do("Enter submits", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	runURL := ana.location()
	id, ok := strings.CutPrefix(runURL, base+"/runs/")
	if !ok {
		t.Fatalf("after the run started: at %s", runURL)
	}

	// The live timeline reaches waiting; ana may not decide: four eyes.
	ana.do("the timeline reaches waiting", chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="waiting"]`)),
		chromedp.WaitVisible(chromedp.CSS("#refused-refund")))
	if why := ana.text("#refused-refund"); !strings.Contains(why, "ana started run "+id+" and cannot approve its steps: four eyes") {
		t.Fatalf("the reason shown to ana: %q", why)
	}
	if n, _ := chromedp.Run(ana.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#approve-refund").length`)); n != 0 {
		t.Fatal("ana is offered to approve")
	}
	ana.screenshot("run-waiting-refused")
	ana.axe(axe, "run (waiting)")
	for _, page := range []string{"runs", "approvals", "runbooks", "schedules", "plugins"} {
		ana.do(page, chromedp.Navigate(base+"/"+page), chromedp.WaitVisible(chromedp.CSS("main")))
		ana.screenshot(page)
		ana.axe(axe, page)
		if page == "approvals" {
			if why := ana.text("#others"); !strings.Contains(why, "four eyes") {
				t.Fatalf("ana's inbox: %q", why)
			}
		}
	}
	// Back to the run, followed live while lea decides.
	ana.do("the run again", chromedp.Navigate(runURL), chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="waiting"]`)))

	// Lea, in a browser of her own, logs in, finds the run in her inbox
	// and approves it, giving the secret input again.
	lea := newBrowser(t, root, dir)
	lea.do("the inbox", chromedp.Navigate(base+"/approvals"))
	lea.login("lea", "lea-password")
	lea.do("the run from the inbox", chromedp.Click(chromedp.CSS(`#mine a[href="/runs/`+id+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#approve-refund")))
	lea.screenshot("run-waiting-lead")
	lea.do("approve",
		chromedp.SendKeys(chromedp.CSS("#secret-api_token"), "tok-from-the-vault"),
		chromedp.SendKeys(chromedp.CSS("#comment-refund"), "checked the ticket"),
		chromedp.Click(chromedp.CSS("#approve-refund")),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="succeeded"]`)))

	// Ana's page, never reloaded, shows it finish: the SSE timeline.
	ana.do("ana's page follows the run to its end", chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="succeeded"]`)),
		chromedp.WaitVisible(chromedp.CSS("#decisions")))
	if loc := ana.location(); loc != runURL {
		t.Fatalf("ana's page moved to %s", loc)
	}
	if got := ana.text("#decisions"); !strings.Contains(got, "lea") || !strings.Contains(got, "checked the ticket") {
		t.Fatalf("decisions shown: %q", got)
	}
	if strings.Contains(ana.text("main"), "tok-from-the-vault") {
		t.Fatal("the secret input is shown")
	}
	ana.screenshot("run")
	ana.axe(axe, "run (succeeded)")

	// The audit page verifies the run's records.
	lea.do("audit", chromedp.Navigate(base+"/audit?verify=1&run="+id), chromedp.WaitVisible(chromedp.CSS("#verify-result")))
	if ok := lea.text("#verify-result"); !strings.Contains(ok, "Verified") && !strings.Contains(ok, "已验证") {
		t.Fatalf("audit: %q", ok)
	}
	lea.screenshot("audit")
	lea.axe(axe, "audit")

	// In Chinese, by the switch.
	lea.do("switch to Chinese", chromedp.SetValue(chromedp.CSS("#lang"), "zh"),
		chromedp.Click(chromedp.CSS(`form[action="/lang"] button`)), chromedp.WaitReady(chromedp.CSS(`html[lang="zh-Hans"] #verify-result`)))
	if got := lea.text("nav"); !strings.Contains(got, "运行手册") {
		t.Fatalf("after the switch, the menu reads %q", got)
	}
	lea.screenshot("audit-zh")

	for _, b := range []*browser{ana, lea} {
		if p := b.problems(); len(p) > 0 {
			t.Errorf("the browser reported:\n%s", strings.Join(p, "\n"))
		}
	}
	r := f.waitStatus(t, id, "succeeded")
	if b, _ := json.Marshal(r.State.Inputs); strings.Contains(string(b), "tok-from-the-vault") {
		t.Fatal("the journal holds the secret")
	}
}
