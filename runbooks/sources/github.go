package sources

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/config"
)

// Errors of GitHub sources.
var (
	ErrRateLimited = errors.New("sources: GitHub rate limit exhausted")
	ErrGitHubAuth  = errors.New("sources: GitHub refused the credentials")
)

// GitHubOptions configure GitHub sources.
type GitHubOptions struct {
	// HTTPClient is used for every request; nil: http.DefaultClient.
	HTTPClient *http.Client
	// Getenv reads the token: STEWARD_SECRET_NAME for token: {secret:
	// NAME}, else GITHUB_TOKEN. Nil: os.Getenv.
	Getenv func(string) string
	// MaxWait is how long a request waits for an exhausted rate limit to
	// reset; beyond it (or 0) the request fails with ErrRateLimited,
	// naming the reset time.
	MaxWait time.Duration
	// Clock times that wait; nil: the real clock.
	Clock clockwork.Clock
}

// StatusContext is the commit status context Steward posts.
const StatusContext = "steward/validate"

// githubRepo reads a GitHub repository through the REST API: a ref is
// resolved with a conditional request (If-None-Match: the last SHA, a
// 304 costs no rate limit), trees and blobs are immutable and cached on
// disk by SHA under --home, so a sync of an unchanged commit asks GitHub
// one question.
type githubRepo struct {
	src         config.Source
	owner, name string
	client      *github.Client
	cache       string
	opts        GitHubOptions
}

func newGitHubRepo(src config.Source, cache string, opts GitHubOptions) (*githubRepo, error) {
	owner, name, _ := strings.Cut(src.Location, "/")
	g := &githubRepo{src: src, owner: owner, name: name, cache: cache, opts: opts}
	if src.App != nil {
		return g, nil // the client is made on first use, with a minted token
	}
	c, err := NewGitHubClient(src.BaseURL, token(src, opts), opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	g.client = c
	return g, nil
}

// ensure makes the client of an App source: one installation token per
// repository opened (a sync, a run), valid an hour.
func (g *githubRepo) ensure(ctx context.Context) error {
	if g.client != nil {
		return nil
	}
	tok, err := installationToken(ctx, g.src, g.opts)
	if err != nil {
		return err
	}
	g.client, err = NewGitHubClient(g.src.BaseURL, tok, g.opts.HTTPClient)
	return err
}

// NewGitHubClient returns a go-github client for the API at baseURL
// ("" for api.github.com; a GitHub Enterprise server's
// https://HOST/api/v3/) with token when not "".
func NewGitHubClient(baseURL, token string, hc *http.Client) (*github.Client, error) {
	c := github.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if baseURL != "" {
		if !strings.HasSuffix(baseURL, "/") {
			baseURL += "/"
		}
		u, err := url.Parse(baseURL)
		if err != nil {
			return nil, fmt.Errorf("sources: base_url: %w", err)
		}
		c.BaseURL = u
	}
	return c, nil
}

func getenv(opts GitHubOptions) func(string) string {
	if opts.Getenv != nil {
		return opts.Getenv
	}
	return os.Getenv
}

func token(src config.Source, opts GitHubOptions) string {
	get := getenv(opts)
	if src.Token != "" {
		return get("STEWARD_SECRET_" + src.Token)
	}
	return get("GITHUB_TOKEN")
}

func (g *githubRepo) Name() string                { return g.src.Location }
func (g *githubRepo) Fetch(context.Context) error { return nil }

// call runs one request, waiting for an exhausted rate limit to reset
// when that is within MaxWait, and turns GitHub's refusals into clear
// errors.
func (g *githubRepo) call(ctx context.Context, what string, f func() (*github.Response, error)) error {
	if err := g.ensure(ctx); err != nil {
		return err
	}
	clock := g.opts.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	for attempt := 0; ; attempt++ {
		_, err := f()
		var rl *github.RateLimitError
		var abuse *github.AbuseRateLimitError
		var er *github.ErrorResponse
		wait, limited := time.Duration(0), false
		switch {
		case err == nil:
			return nil
		case errors.As(err, &rl):
			// A second more: go-github refuses, without asking, until
			// its clock passes the reset.
			wait, limited = clock.Until(rl.Rate.Reset.Time)+time.Second, true
			err = fmt.Errorf("%w (%d requests an hour) until %s", ErrRateLimited, rl.Rate.Limit, rl.Rate.Reset.Time.UTC().Format(time.RFC3339))
		case errors.As(err, &abuse):
			wait, limited = abuse.GetRetryAfter(), true
			err = fmt.Errorf("%w (secondary limit): retry after %s", ErrRateLimited, wait)
		case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%w (401 %s): check the token of source %s", ErrGitHubAuth, er.Message, g.src.Name)
		case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound:
			return fmt.Errorf("sources: %s: %s: not found in %s (or the token cannot see it)", g.src.Name, what, g.src.Location)
		}
		if !limited || attempt > 0 || wait > g.opts.MaxWait {
			return fmt.Errorf("sources: %s: %s: %w", g.src.Name, what, err)
		}
		t := clock.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.Chan():
		}
	}
}

var fullSHA = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{40}$`) })

// Resolve asks GitHub for the commit of ref, conditionally: the last SHA
// seen is sent as If-None-Match and a 304 means it still is.
func (g *githubRepo) Resolve(ctx context.Context, ref string) (string, error) {
	memo := filepath.Join(g.cache, "refs", g.owner, g.name, url.PathEscape(ref))
	last := ""
	if b, err := os.ReadFile(memo); err == nil && fullSHA().Match(b) {
		last = string(b)
	}
	var sha string
	err := g.call(ctx, "resolving "+ref, func() (*github.Response, error) {
		var resp *github.Response
		var err error
		sha, resp, err = g.client.Repositories.GetCommitSHA1(ctx, g.owner, g.name, ref, last)
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotModified {
			sha = last
			return resp, nil
		}
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity {
			return resp, fmt.Errorf("%w: %q in %s", ErrUnknownRef, ref, g.src.Location)
		}
		return resp, err
	})
	if err != nil {
		return "", err
	}
	if !fullSHA().MatchString(sha) {
		return "", fmt.Errorf("sources: %s: GitHub answered %q for %s, not a commit SHA", g.src.Name, sha, ref)
	}
	if sha != last {
		_ = writeFile(memo, []byte(sha))
	}
	return sha, nil
}

// Tree lists the files under dir at commit: the recursive tree, or,
// when GitHub truncates it, a walk of the subtrees.
func (g *githubRepo) Tree(ctx context.Context, commit, dir string) (Tree, error) {
	cached := filepath.Join(g.cache, "trees", commit+".json")
	var all Tree
	if b, err := os.ReadFile(cached); err == nil && json.Unmarshal(b, &all) == nil {
		return subtree(all, dir), nil
	}
	all = Tree{}
	var t *github.Tree
	err := g.call(ctx, "reading the tree of "+short(commit), func() (resp *github.Response, err error) {
		t, resp, err = g.client.Git.GetTree(ctx, g.owner, g.name, commit, true)
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	if t.GetTruncated() {
		if err := g.walk(ctx, commit, "", all); err != nil {
			return nil, err
		}
	} else {
		for _, e := range t.Entries {
			if e.GetType() == "blob" {
				all[e.GetPath()] = Entry{Blob: e.GetSHA(), Mode: e.GetMode()}
			}
		}
	}
	if b, err := json.Marshal(all); err == nil {
		_ = writeFile(cached, b)
	}
	return subtree(all, dir), nil
}

// walk reads a tree one level at a time (a truncated recursive tree).
func (g *githubRepo) walk(ctx context.Context, sha, prefix string, into Tree) error {
	var t *github.Tree
	err := g.call(ctx, "reading tree "+short(sha), func() (resp *github.Response, err error) {
		t, resp, err = g.client.Git.GetTree(ctx, g.owner, g.name, sha, false)
		return resp, err
	})
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		p := prefix + e.GetPath()
		switch e.GetType() {
		case "blob":
			into[p] = Entry{Blob: e.GetSHA(), Mode: e.GetMode()}
		case "tree":
			if err := g.walk(ctx, e.GetSHA(), p+"/", into); err != nil {
				return err
			}
		}
	}
	return nil
}

func subtree(all Tree, dir string) Tree {
	out := Tree{}
	for p, e := range all {
		if under(p, dir) {
			out[p] = e
		}
	}
	return out
}

// Blobs reads blobs from the cache, or from GitHub; a blob whose content
// does not hash to its SHA is refused.
func (g *githubRepo) Blobs(ctx context.Context, shas []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, sha := range shas {
		if !fullSHA().MatchString(sha) {
			return nil, fmt.Errorf("sources: %s: %q is not a blob SHA", g.src.Name, sha)
		}
		p := filepath.Join(g.cache, "blobs", sha[:2], sha)
		if b, err := os.ReadFile(p); err == nil && blobSHA(b) == sha {
			out[sha] = b
			continue
		}
		var b []byte
		err := g.call(ctx, "reading blob "+short(sha), func() (resp *github.Response, err error) {
			b, resp, err = g.client.Git.GetBlobRaw(ctx, g.owner, g.name, sha)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		if got := blobSHA(b); got != sha {
			return nil, fmt.Errorf("sources: %s: blob %s from GitHub hashes to %s", g.src.Name, short(sha), short(got))
		}
		_ = writeFile(p, b)
		out[sha] = b
	}
	return out, nil
}

// blobSHA is Git's SHA-1 of a blob.
func blobSHA(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Reachable asks the compare API: commit is reachable from branch when
// it is behind it or identical.
func (g *githubRepo) Reachable(ctx context.Context, commit, branch string) (bool, error) {
	var cmp *github.CommitsComparison
	err := g.call(ctx, "comparing "+short(commit)+" with "+branch, func() (resp *github.Response, err error) {
		cmp, resp, err = g.client.Repositories.CompareCommits(ctx, g.owner, g.name, branch, commit, nil)
		return resp, err
	})
	if err != nil {
		return false, err
	}
	s := cmp.GetStatus()
	return s == "behind" || s == "identical", nil
}

// VerifySignature takes GitHub's verification of the commit and, for
// SSH, checks the signature again against the source's allowed signers
// with ssh-keygen: GitHub saying "verified" only means some key of some
// user signed it.
func (g *githubRepo) VerifySignature(ctx context.Context, commit string) error {
	var c *github.Commit
	err := g.call(ctx, "reading commit "+short(commit), func() (resp *github.Response, err error) {
		c, resp, err = g.client.Git.GetCommit(ctx, g.owner, g.name, commit)
		return resp, err
	})
	if err != nil {
		return err
	}
	v := c.GetVerification()
	if v == nil || !v.GetVerified() {
		return fmt.Errorf("%w: commit %s: GitHub says %q", ErrUnsigned, short(commit), v.GetReason())
	}
	if g.src.Signature == config.SignatureSSH {
		return verifySSH(ctx, g.src.Signers, c.GetCommitter().GetEmail(), v.GetPayload(), v.GetSignature(), commit)
	}
	return nil
}

// Report posts the commit status steward/validate.
func (g *githubRepo) Report(ctx context.Context, commit string, ok bool, description string) error {
	if err := g.ensure(ctx); err != nil {
		return err
	}
	return PostStatus(ctx, g.client, g.owner, g.name, commit, ok, description, "")
}

// PostStatus posts the commit status steward/validate on owner/name at
// sha through Repositories.CreateStatus; target, when set, links it.
func PostStatus(ctx context.Context, c *github.Client, owner, name, sha string, ok bool, description, target string) error {
	state := "failure"
	if ok {
		state = "success"
	}
	if len(description) > 140 { // GitHub's limit
		description = description[:137] + "..."
	}
	st := &github.RepoStatus{State: &state, Description: &description, Context: github.String(StatusContext)}
	if target != "" {
		st.TargetURL = &target
	}
	if _, _, err := c.Repositories.CreateStatus(ctx, owner, name, sha, st); err != nil {
		return fmt.Errorf("sources: posting the status of %s: %w", short(sha), err)
	}
	return nil
}

// writeFile writes a cache file atomically.
func writeFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
