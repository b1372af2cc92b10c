package sources

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/config"
)

// Poll syncs src every interval until ctx ends, calling done with each
// outcome (may be nil). It is what steward serve runs for a source with
// poll: set; the first sync is at once.
func (s *Syncer) Poll(ctx context.Context, src config.Source, interval time.Duration, clock clockwork.Clock, done func(*Result, error)) {
	t := clock.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := s.Sync(ctx, src)
		if done != nil && ctx.Err() == nil {
			done(res, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

// PushHandler is the handler of GitHub push webhooks for sources (mount
// it at e.g. POST /hooks/github-sources). A request must carry a valid
// X-Hub-Signature-256 made with secret (go-github's ValidatePayload);
// a push to the ref of a source of that repository calls start with the
// source, which should sync it in the background: a push starts a sync,
// never a run. It answers 202 with the sources to sync, 200 when the
// push concerns none (and to GitHub's ping), 401 on a bad signature.
func PushHandler(secret []byte, list func() []config.Source, start func(config.Source)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 25<<20) // GitHub caps payloads at 25 MB
		payload, err := github.ValidatePayload(r, secret)
		if err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		reply := func(code int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(v)
		}
		kind := github.WebHookType(r)
		if kind == "ping" {
			reply(http.StatusOK, map[string]any{"ok": true})
			return
		}
		if kind != "push" {
			reply(http.StatusOK, map[string]any{"ignored": "event " + kind})
			return
		}
		ev, err := github.ParseWebHook(kind, payload)
		push, ok := ev.(*github.PushEvent)
		if err != nil || !ok {
			http.Error(w, "not a push event", http.StatusBadRequest)
			return
		}
		repo := push.GetRepo().GetFullName()
		urls := []string{push.GetRepo().GetCloneURL(), push.GetRepo().GetSSHURL(), push.GetRepo().GetGitURL()}
		var synced []string
		for _, src := range list() {
			if !pushed(src, repo, urls, push.GetRef()) {
				continue
			}
			start(src)
			synced = append(synced, src.Name)
		}
		if len(synced) == 0 {
			reply(http.StatusOK, map[string]any{"ignored": "no source follows " + push.GetRef() + " of " + repo})
			return
		}
		reply(http.StatusAccepted, map[string]any{"syncing": synced})
	})
}

// pushed says whether a push to ref of the repository concerns src.
func pushed(src config.Source, repo string, urls []string, ref string) bool {
	if ref != "refs/heads/"+src.Ref && ref != "refs/tags/"+src.Ref {
		return false
	}
	switch src.Kind {
	case config.SourceGitHub:
		return strings.EqualFold(src.Location, repo)
	case config.SourceGit:
		for _, u := range urls {
			if u != "" && strings.EqualFold(strings.TrimSuffix(src.Location, ".git"), strings.TrimSuffix(u, ".git")) {
				return true
			}
		}
	}
	return false
}

// Statuses are the sources as GET /api/v1/sources shows them: each
// source's pin and last sync, read from --home (the repositories are
// not asked).
func Statuses(ctx context.Context, home string, list []config.Source) ([]*Status, error) {
	out := []*Status{}
	for _, src := range list {
		if src.Kind == config.SourceFolder {
			out = append(out, &Status{State: State{Source: src.Name, Kind: src.Kind, Repo: src.Location}})
			continue
		}
		st, err := GetStatus(ctx, home, src, GitHubOptions{}, false)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
