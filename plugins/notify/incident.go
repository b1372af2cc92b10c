package main

import (
	"context"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/stewardhq/steward/plugins/sdk"
)

// One open issue per incident. An issue opened with dedupe_keys carries
// each key in a hidden line under its idempotency marker; a later call
// with one of the keys (another run about the same incident: the same
// alert's fingerprint, the same provider's outage) finds the open issue
// instead of opening another, comments on it, and may close it when the
// incident is resolved. A closed issue is never reused: the next incident
// of the same key opens a new one.

// dedupePrefix starts the hidden line of a dedupe key.
const dedupePrefix = "<!-- steward:dedupe-key="

func dedupeMarker(key string) string { return dedupePrefix + markerKey(key) + " -->" }

// dedupeKeys are the keys in the hidden lines at the top of body.
func dedupeKeys(body string) []string {
	var keys []string
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if !strings.HasPrefix(line, "<!-- steward:") {
			break
		}
		if k, ok := strings.CutPrefix(line, dedupePrefix); ok {
			keys = append(keys, strings.TrimSuffix(k, " -->"))
		}
	}
	return keys
}

// findOpen looks for the newest open issue that carries one of keys,
// among the issuePages*100 newest open issues.
func (g *issueOpener) findOpen(ctx context.Context, keys []string) (*github.Issue, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[markerKey(k)] = true
	}
	opts := &github.IssueListByRepoOptions{State: "open", Sort: "created", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}}
	for page := 1; page <= issuePages; page++ {
		opts.Page = page
		issues, resp, err := g.client.Issues.ListByRepo(ctx, g.owner, g.repo, opts)
		if err != nil {
			return nil, g.classify(ctx, "listing the open issues of", err)
		}
		for _, is := range issues {
			if is.IsPullRequest() {
				continue
			}
			for _, k := range dedupeKeys(is.GetBody()) {
				if want[k] {
					return is, nil
				}
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return nil, nil
}

// update comments on the open issue of an incident (once per step: the
// comment starts with the step's marker, and one carrying it already is
// not added again) and closes it when asked.
func (g *issueOpener) update(ctx context.Context, call *sdk.Call, is *github.Issue, comment string, closeIt bool) (IssueOutput, error) {
	out := IssueOutput{Channel: "github_issue", Number: is.GetNumber(), URL: is.GetHTMLURL(), Existing: true}
	call.Infof("issue #%d is open for this incident: %s", is.GetNumber(), is.GetHTMLURL())
	if strings.TrimSpace(comment) != "" {
		done, err := g.commented(ctx, is.GetNumber(), call.IdempotencyKey)
		if err != nil {
			return IssueOutput{}, err
		}
		if !done {
			body := marker(call.IdempotencyKey) + "\n" + headOf(comment, maxTextChars)
			if _, _, err := g.client.Issues.CreateComment(ctx, g.owner, g.repo, is.GetNumber(), &github.IssueComment{Body: &body}); err != nil {
				return IssueOutput{}, g.classify(ctx, "commenting on an issue of", err)
			}
			call.Infof("commented on issue #%d", is.GetNumber())
		}
		out.Commented = true
	}
	if closeIt {
		state, reason := "closed", "completed"
		if _, _, err := g.client.Issues.Edit(ctx, g.owner, g.repo, is.GetNumber(), &github.IssueRequest{State: &state, StateReason: &reason}); err != nil {
			return IssueOutput{}, g.classify(ctx, "closing an issue of", err)
		}
		call.Infof("closed issue #%d", is.GetNumber())
		out.Closed = true
	}
	return out, nil
}

// commented says whether a comment of the issue starts with the marker of
// key (an earlier attempt of the step), among its first issuePages*100.
func (g *issueOpener) commented(ctx context.Context, number int, key string) (bool, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for page := 1; page <= issuePages; page++ {
		opts.Page = page
		cs, resp, err := g.client.Issues.ListComments(ctx, g.owner, g.repo, number, opts)
		if err != nil {
			return false, g.classify(ctx, "listing the comments of an issue of", err)
		}
		for _, c := range cs {
			if hasMarker(c.GetBody(), key) {
				return true, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return false, nil
}
