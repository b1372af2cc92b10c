package sources_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks/sources"
	"github.com/stewardhq/steward/runbooks/sources/githubtest"
	"github.com/stewardhq/steward/runbooks/sources/gittest"
)

// A push event as GitHub sends it (the fields a source reads), signed
// with X-Hub-Signature-256 as GitHub's webhook documentation says.
const pushPayload = `{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"1111111111111111111111111111111111111111",
"repository":{"id":1,"name":"runbooks","full_name":"acme/runbooks","clone_url":"https://github.com/acme/runbooks.git","ssh_url":"git@github.com:acme/runbooks.git"},
"pusher":{"name":"ana"}}`

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestPushHandlerStartsSyncOfMatchingSources(t *testing.T) {
	list := []config.Source{
		{Name: "cloud", Kind: config.SourceGitHub, Location: "acme/runbooks", Ref: "main"},
		{Name: "mirror", Kind: config.SourceGit, Location: "https://github.com/acme/runbooks", Ref: "main"},
		{Name: "release", Kind: config.SourceGitHub, Location: "acme/runbooks", Ref: "release"},
		{Name: "other", Kind: config.SourceGitHub, Location: "acme/other", Ref: "main"},
	}
	var mu sync.Mutex
	var started []string
	h := sources.PushHandler([]byte("s3cret"), func() []config.Source { return list }, func(s config.Source) {
		mu.Lock()
		started = append(started, s.Name)
		mu.Unlock()
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(event, sig, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := post("push", sign("wrong", pushPayload), pushPayload); code != 401 || len(started) != 0 {
		t.Fatalf("bad signature: %d %s %v", code, body, started)
	}
	code, body := post("push", sign("s3cret", pushPayload), pushPayload)
	if code != 202 || body != `{"syncing":["cloud","mirror"]}` || strings.Join(started, ",") != "cloud,mirror" {
		t.Fatalf("push: %d %s %v", code, body, started)
	}
	tag := strings.Replace(pushPayload, "refs/heads/main", "refs/heads/feature", 1)
	if code, body := post("push", sign("s3cret", tag), tag); code != 200 || !strings.Contains(body, "no source follows refs/heads/feature") {
		t.Fatalf("other branch: %d %s", code, body)
	}
	ping := `{"zen":"Keep it logically awesome.","hook_id":1}`
	if code, _ := post("ping", sign("s3cret", ping), ping); code != 200 {
		t.Fatalf("ping: %d", code)
	}
}

func TestPollSyncsEveryInterval(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	src := gitSource(repo.Dir)
	clock := clockwork.NewFakeClock()
	results := make(chan string, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&sources.Syncer{Home: t.TempDir()}).Poll(ctx, src, time.Minute, clock, func(r *sources.Result, err error) {
			if err != nil {
				results <- err.Error()
				return
			}
			results <- r.Commit
		})
	}()
	if got := <-results; got != first {
		t.Fatalf("first poll: %s", got)
	}
	second := repo.Commit("second", map[string]string{"runbooks/hello.yaml": hello("v2")})
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if got := <-results; got != second {
		t.Fatalf("second poll: %s", got)
	}
	cancel()
	<-done
}

func TestStatusesForTheAPI(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	home := t.TempDir()
	list := []config.Source{gitSource(repo.Dir), {Name: "local", Kind: config.SourceFolder, Location: "/srv/runbooks"}}
	if _, err := (&sources.Syncer{Home: home}).Sync(context.Background(), list[0]); err != nil {
		t.Fatal(err)
	}
	st, err := sources.Statuses(context.Background(), home, list)
	if err != nil || len(st) != 2 || st[0].Pin.Commit != first || st[1].Kind != "folder" || st[1].Pin != nil {
		t.Fatalf("%+v %v", st, err)
	}
}

// TestPushPinsTheNewCommit: a push webhook for a GitHub source starts a
// sync that pins the pushed commit (GitHub itself is the fake REST API of
// githubtest: GitHub is not reachable from the tests).
func TestPushPinsTheNewCommit(t *testing.T) {
	repo := gittest.New(t)
	repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	gh := githubtest.New(t, repo, "tok")
	home := t.TempDir()
	src := githubSource(gh)
	s := &sources.Syncer{Home: home, GitHub: ghOptions("tok")}
	if _, err := s.Sync(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	second := repo.Commit("second", map[string]string{"runbooks/hello.yaml": hello("v2")})
	var synced []*sources.Result
	h := sources.PushHandler([]byte("s3cret"), func() []config.Source { return []config.Source{src} }, func(src config.Source) {
		// serve runs this in the background; here it runs at once.
		res, err := s.Sync(context.Background(), src)
		if err != nil {
			t.Error(err)
		}
		synced = append(synced, res)
	})
	body := strings.Replace(pushPayload, "1111111111111111111111111111111111111111", second, 1)
	req := httptest.NewRequest("POST", "/hooks/github-sources", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign("s3cret", body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 202 || len(synced) != 1 || synced[0].Commit != second {
		t.Fatalf("push: %d %s %+v", w.Code, w.Body, synced)
	}
	st, _ := sources.LoadState(home, "cloud")
	if st.Pin.Commit != second {
		t.Fatalf("pin %s, want %s", st.Pin.Commit, second)
	}
}
