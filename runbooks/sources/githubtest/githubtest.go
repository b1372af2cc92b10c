// Package githubtest is GitHub's REST API as an httptest server, for
// tests: GitHub is not reachable from them, so this server answers with
// the request and response shapes of GitHub's REST documentation. Its
// content is a real Git repository (gittest) read with git.
package githubtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/runbooks/sources/gittest"
)

// Fake is GitHub's REST API as an httptest server: GitHub is not
// reachable from the tests, so this server answers with the request and
// response shapes of GitHub's REST documentation (commits/{ref} with the
// sha media type and If-None-Match → 304, git/trees with truncated,
// git/blobs raw, statuses, compare, rate-limit headers and 403s, 401 Bad
// credentials). Its content is a real Git repository read with git.
type Fake struct {
	*httptest.Server
	repo  *gittest.Repo
	token string
	// AppKey verifies App JWTs (RS256, iss 7) at POST /app/installations/42/access_tokens.
	AppKey *rsa.PublicKey

	mu        sync.Mutex
	truncate  bool           // recursive trees come back truncated
	exhausted bool           // every request is refused: rate limit
	resetNow  bool           // the next request is refused, the limit resetting now
	calls     map[string]int // by route
	statuses  []map[string]any
	notMod    int
}

// New serves repo as acme/runbooks, answering requests that carry
// "Authorization: Bearer TOKEN" (401 otherwise).
func New(t testing.TB, repo *gittest.Repo, token string) *Fake {
	f := &Fake{repo: repo, token: token, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/runbooks/commits/{ref...}", f.commit)
	mux.HandleFunc("GET /repos/acme/runbooks/git/trees/{sha}", f.tree)
	mux.HandleFunc("GET /repos/acme/runbooks/git/blobs/{sha}", f.blob)
	mux.HandleFunc("POST /repos/acme/runbooks/statuses/{sha}", f.status)
	mux.HandleFunc("GET /repos/acme/runbooks/compare/{basehead}", f.compare)
	mux.HandleFunc("GET /repos/acme/runbooks/git/commits/{sha}", f.gitCommit)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		exhausted := f.exhausted
		f.mu.Unlock()
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		if r.URL.Path == "/app/installations/42/access_tokens" && r.Method == "POST" {
			f.installationToken(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		if f.takeResetNow() {
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Unix(), 10))
			exhausted = true
		}
		if exhausted {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`)
			return
		}
		w.Header().Set("X-RateLimit-Remaining", "4999")
		f.mu.Lock()
		f.calls[r.Method+" "+strings.SplitN(strings.TrimPrefix(r.URL.Path, "/repos/acme/runbooks/"), "/", 2)[0]]++
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// installationToken checks the App's JWT (RS256, iss the App id, as
// GitHub's "Authenticating as a GitHub App" documents) and answers 201
// with a token, or 401.
func (f *Fake) installationToken(w http.ResponseWriter, r *http.Request) {
	jwt, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(jwt, ".")
	ok := len(parts) == 3 && f.AppKey != nil
	if ok {
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var c struct {
			Iss      string
			Iat, Exp int64
		}
		json.Unmarshal(claims, &c)
		ok = rsa.VerifyPKCS1v15(f.AppKey, crypto.SHA256, sum[:], sig) == nil && c.Iss == "7" && c.Exp-c.Iat <= 600 && c.Exp > time.Now().Unix()
	}
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"}`)
		return
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"token": f.token, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"permissions": map[string]string{"contents": "read", "statuses": "write"}, "repository_selection": "selected"})
}

func (f *Fake) commit(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Accept") != "application/vnd.github.v3.sha" {
		http.Error(w, "this fake serves the sha media type only", http.StatusNotAcceptable)
		return
	}
	sha := f.repo.Git("rev-parse", r.PathValue("ref")+"^{commit}")
	if r.Header.Get("If-None-Match") == `"`+sha+`"` {
		f.mu.Lock()
		f.notMod++
		f.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", `"`+sha+`"`)
	io.WriteString(w, sha)
}

type treeEntry struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
	Type string `json:"type"`
	SHA  string `json:"sha"`
	Size int    `json:"size,omitempty"`
	URL  string `json:"url"`
}

func (f *Fake) tree(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	recursive := r.URL.Query().Get("recursive") != ""
	args := []string{"ls-tree", "-l", sha}
	if recursive {
		args = []string{"ls-tree", "-r", "-t", "-l", sha}
	}
	f.mu.Lock()
	truncate := f.truncate && recursive
	f.mu.Unlock()
	var entries []treeEntry
	for _, line := range strings.Split(f.repo.Git(args...), "\n") {
		meta, p, _ := strings.Cut(line, "\t")
		fl := strings.Fields(meta)
		e := treeEntry{Path: p, Mode: fl[0], Type: fl[1], SHA: fl[2], URL: f.URL + "/repos/acme/runbooks/git/" + fl[1] + "s/" + fl[2]}
		e.Size, _ = strconv.Atoi(fl[3])
		entries = append(entries, e)
	}
	if truncate { // GitHub cuts a large recursive tree short and says so
		entries = entries[:1]
	}
	json.NewEncoder(w).Encode(map[string]any{"sha": sha, "url": f.URL + r.URL.Path, "tree": entries, "truncated": truncate})
}

func (f *Fake) blob(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Accept") != "application/vnd.github.v3.raw" {
		http.Error(w, "this fake serves raw blobs only", http.StatusNotAcceptable)
		return
	}
	w.Write(f.repo.Blob(r.PathValue("sha")))
}

func (f *Fake) status(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	body["sha"] = r.PathValue("sha")
	f.mu.Lock()
	f.statuses = append(f.statuses, body)
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"id": 1, "state": body["state"], "description": body["description"], "context": body["context"]})
}

func (f *Fake) compare(w http.ResponseWriter, r *http.Request) {
	base, head, _ := strings.Cut(r.PathValue("basehead"), "...")
	status := "diverged"
	b, h := f.repo.Git("rev-parse", base), f.repo.Git("rev-parse", head)
	switch {
	case b == h:
		status = "identical"
	case f.isAncestor(h, b):
		status = "behind"
	case f.isAncestor(b, h):
		status = "ahead"
	}
	json.NewEncoder(w).Encode(map[string]any{"status": status, "base_commit": map[string]any{"sha": b}})
}

// gitCommit answers GET /repos/O/R/git/commits/SHA with the commit's
// verification as GitHub documents it: verified, reason, and the
// signature and the signed payload (the commit object without its gpgsig
// header). GitHub's own check is played by "verified: signature present".
func (f *Fake) gitCommit(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	obj := string(f.repo.Object(sha))
	head, msg, _ := strings.Cut(obj, "\n\n")
	var payload, sig []string
	inSig := false
	for _, line := range strings.Split(head, "\n") {
		switch {
		case strings.HasPrefix(line, "gpgsig "):
			inSig = true
			sig = append(sig, strings.TrimPrefix(line, "gpgsig "))
		case inSig && strings.HasPrefix(line, " "):
			sig = append(sig, line[1:])
		default:
			inSig = false
			payload = append(payload, line)
		}
	}
	v := map[string]any{"verified": len(sig) > 0, "reason": "valid", "signature": nil, "payload": nil}
	if len(sig) == 0 {
		v["reason"] = "unsigned"
	} else {
		v["signature"] = strings.Join(sig, "\n") + "\n"
		v["payload"] = strings.Join(payload, "\n") + "\n\n" + msg
	}
	json.NewEncoder(w).Encode(map[string]any{"sha": sha, "message": msg, "verification": v,
		"committer": map[string]any{"name": "Author", "email": "author@example.com", "date": "2026-12-06T12:00:00Z"}})
}

func (f *Fake) isAncestor(a, b string) bool {
	return f.repo.Git("merge-base", a, b) == a
}

func (f *Fake) takeResetNow() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.resetNow
	f.resetNow = false
	return r
}

// Count is how many requests a route had ("GET git": trees and blobs).
func (f *Fake) Count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[route]
}

// SetTruncated makes recursive trees come back truncated.
func (f *Fake) SetTruncated(v bool) { f.mu.Lock(); f.truncate = v; f.mu.Unlock() }

// SetExhausted makes every request fail as over the rate limit.
func (f *Fake) SetExhausted(v bool) { f.mu.Lock(); f.exhausted = v; f.mu.Unlock() }

// ResetNow makes the next request fail as over the rate limit, the
// limit resetting this second.
func (f *Fake) ResetNow() { f.mu.Lock(); f.resetNow = true; f.mu.Unlock() }

// Statuses are the commit statuses posted, in order, each with its sha.
func (f *Fake) Statuses() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.statuses...)
}

// NotModified is how many 304s the ref resolution answered.
func (f *Fake) NotModified() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notMod
}
