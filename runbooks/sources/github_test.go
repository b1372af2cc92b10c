package sources_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks/sources"
	"github.com/stewardhq/steward/runbooks/sources/githubtest"
	"github.com/stewardhq/steward/runbooks/sources/gittest"
)

// githubSource is the source of the fake's repository.
func githubSource(f *githubtest.Fake) config.Source {
	return config.Source{Name: "cloud", Kind: config.SourceGitHub, Location: "acme/runbooks", Ref: "main", Path: "runbooks",
		Token: "GH", BaseURL: f.URL + "/"}
}

func ghOptions(token string) sources.GitHubOptions {
	return sources.GitHubOptions{Getenv: func(k string) string {
		if k == "STEWARD_SECRET_GH" {
			return token
		}
		return ""
	}}
}

func TestGitHubSyncCachesAndPostsStatuses(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1"), "runbooks/files/data.json": `{"x": 1}`})
	gh := githubtest.New(t, repo, "tok")
	home := t.TempDir()
	s := &sources.Syncer{Home: home, GitHub: ghOptions("tok")}
	src := githubSource(gh)

	res, err := s.Sync(ctx, src)
	if err != nil || res.Commit != first || res.Runbooks != 1 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	blobs := gh.Count("GET git")
	// Again: the ref answers 304, the tree and blobs come from the cache.
	if res, err = s.Sync(ctx, src); err != nil || res.Commit != first {
		t.Fatalf("again: %+v %v", res, err)
	}
	if gh.NotModified() != 1 || gh.Count("GET git") != blobs {
		t.Fatalf("second sync: %d 304s, %d tree/blob requests (was %d)", gh.NotModified(), gh.Count("GET git"), blobs)
	}

	bad := repo.Commit("broken", map[string]string{"runbooks/hello.yaml": broken})
	if _, err := s.Sync(ctx, src); !errors.Is(err, sources.ErrInvalid) {
		t.Fatalf("broken: %v", err)
	}
	// Once per commit and outcome: the second sync of first posts nothing.
	if _, err := s.Sync(ctx, src); !errors.Is(err, sources.ErrInvalid) {
		t.Fatalf("broken again: %v", err)
	}
	want := []string{
		"success " + first + " steward/validate 1 runbook valid",
		"failure " + bad + " steward/validate 1 problem in 1 runbook",
	}
	var got []string
	for _, st := range gh.Statuses() {
		got = append(got, fmt.Sprintf("%s %s %s %s", st["state"], st["sha"], st["context"], st["description"]))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("statuses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	r := &sources.Resolver{Home: home, Sources: []config.Source{src}, GitHub: ghOptions("tok")}
	doc, found, err := r.Resolve(ctx, "hello", "")
	if err != nil || !found || doc.Pinned.Commit != first || doc.Pinned.Repo != "acme/runbooks" {
		t.Fatalf("resolve: %+v %v", doc, err)
	}
}

func TestGitHubTruncatedTreeIsWalked(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1"), "runbooks/deep/a/b.yaml": strings.ReplaceAll(hello("b"), "name: hello", "name: deep-b"), "other/x.txt": "x"})
	gh := githubtest.New(t, repo, "tok")
	gh.SetTruncated(true)
	res, err := (&sources.Syncer{Home: t.TempDir(), GitHub: ghOptions("tok")}).Sync(context.Background(), githubSource(gh))
	if err != nil || res.Commit != first || res.Runbooks != 2 {
		t.Fatalf("truncated: %+v %v", res, err)
	}
}

func TestGitHubRefusalsAreClear(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	gh := githubtest.New(t, repo, "tok")

	_, err := (&sources.Syncer{Home: t.TempDir(), GitHub: ghOptions("wrong")}).Sync(ctx, githubSource(gh))
	if !errors.Is(err, sources.ErrGitHubAuth) || !strings.Contains(err.Error(), "401 Bad credentials") {
		t.Fatalf("401: %v", err)
	}
	gh.SetExhausted(true)
	_, err = (&sources.Syncer{Home: t.TempDir(), GitHub: ghOptions("tok")}).Sync(ctx, githubSource(gh))
	if !errors.Is(err, sources.ErrRateLimited) || !strings.Contains(err.Error(), "5000 requests an hour") {
		t.Fatalf("rate limit: %v", err)
	}
}

func TestGitHubProtectedBranch(t *testing.T) {
	repo := gittest.New(t)
	repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	repo.Git("checkout", "--quiet", "-b", "feature")
	off := repo.Commit("unreviewed", map[string]string{"runbooks/hello.yaml": hello("v2")})
	gh := githubtest.New(t, repo, "tok")
	src := githubSource(gh)
	src.Ref, src.ProtectedBranch = "feature", "main"
	res, err := (&sources.Syncer{Home: t.TempDir(), GitHub: ghOptions("tok")}).Sync(context.Background(), src)
	if !errors.Is(err, sources.ErrUnprotected) || res.Commit != off {
		t.Fatalf("off main: %+v %v", res, err)
	}
	if len(gh.Statuses()) != 1 || gh.Statuses()[0]["state"] != "failure" {
		t.Fatalf("statuses %v", gh.Statuses())
	}
}

func TestGitHubAppInstallationToken(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	gh := githubtest.New(t, repo, "ghs_installation")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	gh.AppKey = &key.PublicKey
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	src := githubSource(gh)
	src.Token, src.App = "", &config.GitHubApp{ID: 7, InstallationID: 42, PrivateKey: "APP_KEY"}
	opts := sources.GitHubOptions{Getenv: func(k string) string {
		if k == "STEWARD_SECRET_APP_KEY" {
			return pemKey
		}
		return ""
	}}
	res, err := (&sources.Syncer{Home: t.TempDir(), GitHub: opts}).Sync(context.Background(), src)
	if err != nil || res.Commit != first {
		t.Fatalf("app sync: %+v %v", res, err)
	}
	// Another key: GitHub refuses the JWT.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)}))
	_, err = (&sources.Syncer{Home: t.TempDir(), GitHub: opts}).Sync(context.Background(), src)
	if !errors.Is(err, sources.ErrGitHubAuth) || !strings.Contains(err.Error(), "App 7, installation 42") {
		t.Fatalf("wrong key: %v", err)
	}
}

// TestGitHubWaitsForRateLimitReset: with MaxWait, an exhausted limit is
// waited for on the injected clock, then the request is sent again.
func TestGitHubWaitsForRateLimitReset(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	gh := githubtest.New(t, repo, "tok")
	gh.ResetNow() // reset: this second, in real time (go-github checks it)
	// The injected clock runs 10s behind: the wait is ~11s on it.
	clock := clockwork.NewFakeClockAt(time.Now().Add(-10 * time.Second))
	opts := ghOptions("tok")
	opts.MaxWait, opts.Clock = time.Minute, clock
	type outcome struct {
		res *sources.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := (&sources.Syncer{Home: t.TempDir(), GitHub: opts}).Sync(context.Background(), githubSource(gh))
		done <- outcome{res, err}
	}()
	if err := clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	// Past any wait MaxWait allows: the wait counts from the reset the
	// server gave, in real time, so it grows by however long the sync
	// took to ask (seconds on a loaded machine; 15s was short).
	clock.Advance(opts.MaxWait)
	o := <-done
	if o.err != nil || o.res.Commit != first {
		t.Fatalf("after the reset: %+v %v", o.res, o.err)
	}
}

// TestGitHubSSHSignature: GitHub's verification is not enough: the
// signature is checked again against the source's allowed signers.
func TestGitHubSSHSignature(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	key, other := gittest.NewKey(t), gittest.NewKey(t)
	signed := repo.CommitSigned("signed", key, map[string]string{"runbooks/hello.yaml": hello("v1")})
	gh := githubtest.New(t, repo, "tok")
	src := githubSource(gh)
	src.Signature, src.Signers = config.SignatureSSH, key.AllowedSigners
	s := &sources.Syncer{Home: t.TempDir(), GitHub: ghOptions("tok")}
	if res, err := s.Sync(ctx, src); err != nil || res.Commit != signed {
		t.Fatalf("signed: %+v %v", res, err)
	}
	repo.CommitSigned("other key", other, map[string]string{"runbooks/hello.yaml": hello("v2")})
	if _, err := s.Sync(ctx, src); !errors.Is(err, sources.ErrUnsigned) {
		t.Fatalf("signed by a key GitHub knows but the source does not allow: %v", err)
	}
	repo.Commit("unsigned", map[string]string{"runbooks/hello.yaml": hello("v3")})
	if _, err := s.Sync(ctx, src); !errors.Is(err, sources.ErrUnsigned) || !strings.Contains(err.Error(), `GitHub says "unsigned"`) {
		t.Fatalf("unsigned: %v", err)
	}
}
