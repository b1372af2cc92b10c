// Package console is the web console of steward serve: server-rendered
// pages (html/template, htmx and its SSE extension, embedded) over the run
// service, the same application layer the CLI and the HTTP API call. It
// holds no run logic: it translates forms into runs.Service calls and
// renders what they return.
//
// People log in with OpenID Connect; bots present bearer tokens
// (auth.Tokens). Every page is served with a strict Content-Security-Policy
// (no inline script or style), every change is a POST carrying a CSRF
// token, cookies are Secure, HttpOnly and SameSite=Lax, and no secret
// value is ever rendered: secret inputs are password fields, never echoed
// back, and the journal holds them as "***".
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Static files, served under /static/ with a long cache: htmx 2.0.11
// (htmx.org on npm, dist/htmx.min.js, SHA-256
// d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717) and
// its SSE extension 2.2.4 (htmx-ext-sse, dist/sse.min.js, SHA-256
// 98a46496de0c3605fbffdce9167ba427bdd9553184f83f149c261891a92c0136),
// pinned by name and checked by TestStaticPinned; the console's own CSS.
//
//go:embed static
var staticFiles embed.FS

// ContentSecurityPolicy is the policy of every response: scripts, styles,
// images and connections (SSE) from the console itself only; no inline
// script or style, no frames, forms posted to the console only.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Config is what a Console works with.
type Config struct {
	// Runs is the run service. Required.
	Runs *runs.Service
	// Store is the journal the run service records in: the audit page
	// verifies and exports it. Required.
	Store journal.Store
	// Runbooks lists the runbooks and Resolve finds one by name, as the
	// API does (steward serve: those of pinned sources, then of the
	// folders, then the bundled library). Required.
	Runbooks func() ([]*runbooks.Entry, error)
	Resolve  func(name string) (*runbooks.Document, error)
	// Redact returns the secrets set of a new run (plugin settings'
	// secrets); nil: an empty set.
	Redact func() *redact.Set
	// OIDC logs people in; nil: nobody logs in with a browser (bearer
	// tokens only).
	OIDC *OIDC
	// Grants returns the roles of a subject (server.grants of
	// steward.yaml).
	Grants func(subject string) []auth.Grant
	// Tokens, when set, authenticates requests that carry a bearer token
	// (bots); they need no session nor CSRF token.
	Tokens *auth.Tokens
	// SessionKey signs cookies (32 bytes or more); nil: a random key, so
	// that sessions end with the process. Replicas share one.
	SessionKey []byte
	// SessionTTL: default DefaultSessionTTL.
	SessionTTL time.Duration
	// Schedules, Plugins and Audit serve their pages; nil: the page says
	// there is nothing to show.
	Schedules Schedules
	Plugins   Plugins
	Audit     Audit
	// Background executes the runs started or continued from a form:
	// steward serve's, shared with the API, so that a shutdown waits for
	// them all. Nil: one of the console's own, waited for by Close.
	Background *runs.Background
	// Clock; default the real clock.
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Poll is how often a live timeline looks for new records that
	// nothing told it of (see runs.Service.Events); default 200ms.
	Poll time.Duration
}

// Console is the web console, an http.Handler.
type Console struct {
	cfg      Config
	mux      *http.ServeMux
	pages    map[string]*template.Template
	catalogs map[string]catalog
	cookies  cookies
	oidc     *oidcClient

	// ctx ends the live timelines at Close; ownBG is the Background the
	// console made itself (no Config.Background).
	ctx    context.Context
	cancel context.CancelFunc
	ownBG  bool
}

// New returns the console of cfg. With cfg.OIDC it reads the provider's
// discovery document first: it fails when the issuer cannot be reached.
func New(ctx context.Context, cfg Config) (*Console, error) {
	if cfg.Runs == nil || cfg.Store == nil || cfg.Runbooks == nil || cfg.Resolve == nil {
		return nil, errors.New("console: Config.Runs, Store, Runbooks and Resolve are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Redact == nil {
		cfg.Redact = func() *redact.Set { return &redact.Set{} }
	}
	if cfg.Grants == nil {
		cfg.Grants = func(string) []auth.Grant { return nil }
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	key := cfg.SessionKey
	if key == nil {
		key = []byte(randomString(32))
	} else if len(key) < 32 {
		return nil, errors.New("console: the session key needs 32 bytes or more")
	}
	cats, err := catalogs()
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, pages: pages, catalogs: cats, cookies: cookies{key: key, now: cfg.Clock.Now}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if c.cfg.Background == nil {
		c.cfg.Background, c.ownBG = runs.NewBackground(context.Background(), nil, cfg.Logger), true
	}
	if cfg.OIDC != nil {
		if c.oidc, err = newOIDCClient(ctx, *cfg.OIDC); err != nil {
			return nil, err
		}
	}
	c.routes()
	return c, nil
}

// Close stops the live timelines and, when the console executes runs
// itself (no Config.Background), waits for them to end or wait.
func (c *Console) Close() {
	c.cancel()
	if c.ownBG {
		c.cfg.Background.Stop()
		_ = c.cfg.Background.Wait(context.Background())
	}
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	m.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Names carry versions: cache them long.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		fileServer.ServeHTTP(w, r)
	}))
	m.HandleFunc("GET /login", c.login)
	m.HandleFunc("GET /auth/callback", c.callback)
	m.HandleFunc("POST /logout", c.post(c.logout))
	m.HandleFunc("POST /lang", c.post(c.setLanguage))

	m.HandleFunc("GET /{$}", c.page(func(w http.ResponseWriter, r *http.Request, p *page) {
		http.Redirect(w, r, "/runs", http.StatusSeeOther)
	}))
	m.HandleFunc("GET /runbooks", c.page(c.runbookList))
	m.HandleFunc("GET /runbooks/{name}", c.page(c.runbookPage))
	m.HandleFunc("POST /runbooks/{name}", c.post(c.page(c.startRun)))
	m.HandleFunc("GET /runs", c.page(c.runList))
	m.HandleFunc("GET /runs/{id}", c.page(c.runPage))
	m.HandleFunc("GET /runs/{id}/stream", c.page(c.runStream))
	m.HandleFunc("POST /runs/{id}/decide", c.post(c.page(c.decide)))
	m.HandleFunc("POST /runs/{id}/cancel", c.post(c.page(c.cancelRun)))
	m.HandleFunc("GET /approvals", c.page(c.approvals))
	m.HandleFunc("GET /schedules", c.page(c.schedules))
	m.HandleFunc("POST /schedules/{name}/{action}", c.post(c.page(c.scheduleAction)))
	m.HandleFunc("GET /audit", c.page(c.audit))
	m.HandleFunc("GET /audit/export", c.page(c.auditExport))
	m.HandleFunc("POST /audit/checkpoint", c.post(c.page(c.auditCheckpoint)))
	m.HandleFunc("GET /plugins", c.page(c.plugins))
	c.mux = m
}

// ServeHTTP serves the console: security headers on every response,
// then the session (or the bearer token) and the page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	if _, ok := bearerToken(r); ok && c.cfg.Tokens != nil {
		// A bot: its token says who it is; no cookie, so no CSRF.
		c.cfg.Tokens.Middleware(c.mux).ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), botKey{}, true)))
		return
	}
	s, ok := c.cookies.session(r)
	if !ok {
		s = session{ID: randomString(18)}
		c.cookies.set(w, sessionCookie, s, 0)
	}
	ctx := context.WithValue(r.Context(), sessionKey{}, s)
	if s.Subject != "" {
		ctx = auth.With(ctx, auth.Principal{Subject: s.Subject, Via: "oidc", Grants: c.cfg.Grants(s.Subject)})
	}
	c.mux.ServeHTTP(w, r.WithContext(ctx))
}

type sessionKey struct{}
type botKey struct{}

func sessionOf(r *http.Request) session {
	s, _ := r.Context().Value(sessionKey{}).(session)
	return s
}

func isBot(r *http.Request) bool { b, _ := r.Context().Value(botKey{}).(bool); return b }

// bearerToken returns the request's bearer token.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// post refuses a form without the session's CSRF token (403), before
// anything is done; a bot's request, authenticated by its token, carries
// no cookie and needs none.
func (c *Console) post(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if !isBot(r) && !c.cookies.checkCSRF(r, sessionOf(r)) {
			c.cfg.Logger.Warn("console: a form without its CSRF token was refused", "path", r.URL.Path, "remote", r.RemoteAddr)
			p := c.newPage(r)
			w.WriteHeader(http.StatusForbidden)
			p.Error = p.T("error.csrf")
			c.render(w, "error", p)
			return
		}
		next(w, r)
	}
}

// page is what every template is given.
type page struct {
	Lang     string
	Title    string
	Nav      string
	User     string
	Who      auth.Principal
	LoggedIn bool
	CanLogin bool
	CSRF     string
	Path     string
	Error    string
	Notice   string
	Data     any
	cat      catalog
}

// T is the message key in the page's language.
func (p *page) T(key string, args ...any) string { return p.cat.text(key, args...) }

func (c *Console) newPage(r *http.Request) *page {
	lang := requestLanguage(r)
	s := sessionOf(r)
	p := &page{Lang: lang, cat: c.catalogs[lang], CSRF: c.cookies.csrf(s), Path: r.URL.RequestURI(), CanLogin: c.oidc != nil}
	if who, ok := auth.From(r.Context()); ok {
		p.Who, p.User, p.LoggedIn = who, who.Subject, true
	}
	return p
}

// page wraps a handler that needs someone logged in: a visitor is sent
// to log in (GET) or refused (401).
func (c *Console) page(fn func(w http.ResponseWriter, r *http.Request, p *page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := c.newPage(r)
		if !p.LoggedIn {
			if r.Method == http.MethodGet && c.oidc != nil && !strings.HasSuffix(r.URL.Path, "/stream") {
				http.Redirect(w, r, "/login?return="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			w.WriteHeader(http.StatusUnauthorized)
			p.Error = p.T("error.login")
			c.render(w, "error", p)
			return
		}
		fn(w, r, p)
	}
}

// forbidden answers 403 with why.
func (c *Console) forbidden(w http.ResponseWriter, p *page, err error) {
	w.WriteHeader(http.StatusForbidden)
	p.Error = err.Error()
	c.render(w, "error", p)
}

// fail answers status with a message.
func (c *Console) fail(w http.ResponseWriter, p *page, status int, msg string) {
	w.WriteHeader(status)
	p.Error = msg
	c.render(w, "error", p)
}

// render executes a page's template.
func (c *Console) render(w http.ResponseWriter, name string, p *page) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if err := t.ExecuteTemplate(w, "layout", p); err != nil {
		c.cfg.Logger.Error("console: rendering a page", "page", name, "err", err)
	}
}

// setLanguage switches the console's language (a cookie) and goes back.
func (c *Console) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	for _, l := range Languages {
		if l == lang {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
	}
	http.Redirect(w, r, localPath(r.PostFormValue("return")), http.StatusSeeOther)
}

// localPath is p when it is a path of this site, else "/": never a
// redirect to another site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), "journal: ")
}

// runbookEntries lists the runbooks of the folders and the bundled
// library.
func (c *Console) runbookEntries() ([]*runbooks.Entry, error) {
	list, err := c.cfg.Runbooks()
	if err != nil {
		return nil, fmt.Errorf("console: listing runbooks: %w", err)
	}
	return list, nil
}
