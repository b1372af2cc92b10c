package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v62/github"
	"github.com/stewardhq/steward/plugins/sdk"
)

// IssueInput is the with of notify.github_issue.
type IssueInput struct {
	Title            string   `json:"title" desc:"the issue's title: one line, at most 256 characters"`
	Summary          string   `json:"summary" desc:"what happened (markdown)"`
	Severity         string   `json:"severity,omitempty" desc:"how bad, such as low, medium or high: shown under the summary"`
	Owner            string   `json:"owner,omitempty" desc:"the team that owns the problem: shown under the summary"`
	Impact           string   `json:"impact,omitempty" desc:"who is affected, and how (markdown)"`
	Reproduction     any      `json:"reproduction,omitempty" desc:"how to reproduce: a list of steps (numbered) or a string of commands (a code block)"`
	Logs             string   `json:"logs,omitempty" desc:"log lines, in a code block; the last 200 lines and 16000 characters are kept"`
	ProviderResponse string   `json:"provider_response,omitempty" desc:"what the provider answered, in a code block (indented when it is JSON); the first 8000 characters are kept"`
	Labels           []string `json:"labels,omitempty" desc:"labels to set; GitHub sets them only when the token may push to the repository, and drops them silently otherwise"`
	Assignees        []string `json:"assignees,omitempty" pattern:"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$" desc:"GitHub logins to assign, at most 10; dropped silently without push access"`
	RunID            string   `json:"run_id,omitempty" desc:"the run the issue is about (default: the calling run)"`
	// One open issue per incident: see incident.go.
	DedupeKeys []string `json:"dedupe_keys,omitempty" pattern:"^[A-Za-z0-9._:/=+@-]{1,200}$" desc:"keys of the incident, such as alert:FINGERPRINT or incident:provider:stripe, at most 5: when an open issue carries one, it is returned (existing: true) instead of opening another, and comment is added to it"`
	Comment    string   `json:"comment,omitempty" desc:"with dedupe_keys: the comment added to the open issue found (markdown), once per step whatever the retries"`
	Close      bool     `json:"close,omitempty" desc:"with dedupe_keys: close the open issue found (the incident is resolved); when none is open, nothing is opened"`
}

// IssueOutput is what notify.github_issue returns.
type IssueOutput struct {
	Channel string `json:"channel" enum:"github_issue"`
	Sandbox bool   `json:"sandbox" desc:"true: nothing was opened, the github settings are empty"`
	Number  int    `json:"number" desc:"the issue's number; 0 in the sandbox"`
	URL     string `json:"url" desc:"the issue's page on GitHub; empty in the sandbox"`
	Created bool   `json:"created" desc:"true when this call opened the issue; false when an earlier attempt of the same step had, and in the sandbox"`
	Body    string `json:"body,omitempty" desc:"in the sandbox: the issue's body as it would be opened"`
	// With dedupe_keys.
	Existing  bool `json:"existing,omitempty" desc:"true when an open issue carrying one of dedupe_keys was found and returned instead of opening one"`
	Commented bool `json:"commented,omitempty" desc:"true when comment was added to the existing issue (by this attempt or an earlier one)"`
	Closed    bool `json:"closed,omitempty" desc:"true when close closed the existing issue"`
}

// issuePages is how many pages of 100 issues, newest first, are searched
// for the marker of an earlier attempt.
const issuePages = 3

// issueOpener opens issues in one repository with go-github.
type issueOpener struct {
	client      *github.Client
	owner, repo string
	timeout     time.Duration
	host        string
}

func newIssueOpener(s GitHubSettings) *issueOpener {
	hc := &http.Client{Timeout: s.Timeout.Std(), Transport: http.DefaultTransport.(*http.Transport).Clone()}
	c := github.NewClient(hc).WithAuthToken(s.Token)
	base, _ := url.Parse(s.BaseURL) // checked by the settings
	c.BaseURL = base
	c.UserAgent = "steward-plugin-notify/" + version
	owner, repo, _ := strings.Cut(s.Repository, "/")
	return &issueOpener{client: c, owner: owner, repo: repo, timeout: s.Timeout.Std(), host: base.Host}
}

// openIssue is notify.github_issue. It mutates and is idempotent: the
// body's first line is a hidden marker holding the step's idempotency
// key, and before opening an issue the plugin looks for one that carries
// it among the repository's newest issues.
func (n *notify) openIssue(ctx context.Context, call *sdk.Call, in IssueInput) (IssueOutput, error) {
	is, err := n.checkIssue(call, in)
	if err != nil {
		return IssueOutput{}, err
	}
	body := n.secrets.string(is.render())
	title := n.secrets.string(is.title)
	if n.github == nil {
		call.Infof("sandbox: not opening the issue %q: there are no github settings", title)
		return IssueOutput{Channel: "github_issue", Sandbox: true, Body: body}, nil
	}
	if call.IdempotencyKey == "" {
		return IssueOutput{}, sdk.Error(sdk.CodeInvalidInput, "no idempotency key: refusing to open the issue %q, a retry could open it twice", title)
	}
	g := n.github
	found, err := g.find(ctx, call.IdempotencyKey)
	if err != nil {
		return IssueOutput{}, n.secrets.error(err)
	}
	if found != nil {
		call.Infof("issue #%d was opened by an earlier attempt of this step: %s", found.GetNumber(), found.GetHTMLURL())
		return IssueOutput{Channel: "github_issue", Number: found.GetNumber(), URL: found.GetHTMLURL()}, nil
	}
	if len(is.dedupe) > 0 {
		open, err := g.findOpen(ctx, is.dedupe)
		if err != nil {
			return IssueOutput{}, n.secrets.error(err)
		}
		if open != nil {
			out, err := g.update(ctx, call, open, n.secrets.string(in.Comment), in.Close)
			return out, n.secrets.error(err)
		}
		if in.Close {
			call.Infof("no open issue carries %s: nothing to close", strings.Join(is.dedupe, " or "))
			return IssueOutput{Channel: "github_issue"}, nil
		}
	}
	req := &github.IssueRequest{Title: &title, Body: &body}
	if len(in.Labels) > 0 {
		req.Labels = &in.Labels
	}
	if len(in.Assignees) > 0 {
		req.Assignees = &in.Assignees
	}
	created, _, err := g.client.Issues.Create(ctx, g.owner, g.repo, req)
	if err != nil {
		return IssueOutput{}, n.secrets.error(g.classify(ctx, "opening an issue in", err))
	}
	call.Infof("opened issue #%d: %s", created.GetNumber(), created.GetHTMLURL())
	return IssueOutput{Channel: "github_issue", Number: created.GetNumber(), URL: created.GetHTMLURL(), Created: true}, nil
}

// find looks for the issue whose body starts with the marker of key among
// the repository's newest issues (open or closed, pull requests left
// out): issuePages pages of 100, newest first.
func (g *issueOpener) find(ctx context.Context, key string) (*github.Issue, error) {
	opts := &github.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}}
	for page := 1; page <= issuePages; page++ {
		opts.Page = page
		issues, resp, err := g.client.Issues.ListByRepo(ctx, g.owner, g.repo, opts)
		if err != nil {
			return nil, g.classify(ctx, "listing the issues of", err)
		}
		for _, is := range issues {
			if !is.IsPullRequest() && hasMarker(is.GetBody(), key) {
				return is, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return nil, nil
}

// classify turns a go-github error while doing what (a phrase that ends
// with the repository) into the action's error. It never quotes the
// token.
func (g *issueOpener) classify(ctx context.Context, what string, err error) error {
	repo := g.owner + "/" + g.repo
	what += " " + repo
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	var rate *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var resp *github.ErrorResponse
	switch {
	case errors.As(err, &rate):
		return sdk.Retryable(codeTemporary, "GitHub's rate limit for the token is used up until %s (%s), while %s: try again after that",
			rate.Rate.Reset.UTC().Format(time.RFC3339), rate.Message, what)
	case errors.As(err, &abuse):
		wait := "later"
		if abuse.RetryAfter != nil {
			wait = "in " + abuse.RetryAfter.String()
		}
		return sdk.Retryable(codeTemporary, "GitHub's secondary rate limit stopped %s (%s): try again %s", what, abuse.Message, wait)
	case errors.As(err, &resp) && resp.Response != nil:
		code := resp.Response.StatusCode
		status := fmt.Sprintf("%d %s", code, http.StatusText(code))
		if detail := githubDetail(resp); detail != "" {
			status += ": " + detail
		}
		switch {
		case code == http.StatusUnauthorized:
			return sdk.Error(codeAuthFailed, "GitHub refused the token (%s) while %s: check plugins.settings.notify.github.token", status, what)
		case code == http.StatusForbidden:
			return sdk.Error(codeAuthFailed, "the token may not do this (%s) while %s: a fine-grained token needs Issues: read and write on %s, a classic one the repo scope", status, what, repo)
		case code == http.StatusNotFound:
			return sdk.Error(codeNotFound, "GitHub has no repository %s, or the token cannot see it (%s): check plugins.settings.notify.github.repository and the token's access", repo, status)
		case code == http.StatusGone:
			return sdk.Error(codeRejected, "issues are disabled in %s (%s): enable them, or set github.repository to another repository", repo, status)
		case code == http.StatusTooManyRequests || code >= 500:
			return sdk.Retryable(codeTemporary, "GitHub failed (%s) while %s: try again later", status, what)
		}
		return sdk.Error(codeRejected, "GitHub refused the request (%s) while %s: check with.labels and with.assignees", status, what)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return sdk.Retryable(codeConnection, "GitHub did not answer within %s (github.timeout) while %s: try again later, or raise github.timeout", g.timeout, what)
		}
		return sdk.Retryable(codeConnection, "could not reach GitHub at %s while %s (%v): try again if it is down, or check github.base_url", g.host, what, ue.Err)
	}
	return sdk.Retryable(codeTemporary, "GitHub answered something unexpected while %s (%v): try again later", what, err)
}

// githubDetail is the message of a GitHub error and its field errors.
func githubDetail(r *github.ErrorResponse) string {
	parts := []string{}
	if r.Message != "" {
		parts = append(parts, r.Message)
	}
	for _, e := range r.Errors {
		switch {
		case e.Message != "":
			parts = append(parts, e.Message)
		case e.Field != "":
			parts = append(parts, e.Field+" "+e.Code)
		}
	}
	return truncate(strings.Join(parts, "; "), 300)
}

// checkIssue checks the input and gathers what the body says.
func (n *notify) checkIssue(call *sdk.Call, in IssueInput) (*issue, error) {
	is := &issue{title: in.Title, summary: headOf(in.Summary, maxTextChars), severity: in.Severity, owner: in.Owner,
		impact: headOf(in.Impact, maxTextChars), logs: in.Logs, providerResponse: in.ProviderResponse,
		runID: in.RunID, key: call.IdempotencyKey}
	switch {
	case strings.TrimSpace(in.Title) == "":
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.title is empty: give the issue a title")
	case strings.ContainsAny(in.Title, "\r\n"):
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.title must be one line: it holds a line break")
	case utf8.RuneCountInString(in.Title) > 256:
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.title is %d characters long, GitHub takes 256 at most: put the details in the summary", utf8.RuneCountInString(in.Title))
	case strings.TrimSpace(in.Summary) == "":
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.summary is empty: say what happened")
	}
	for _, f := range [][2]string{{"severity", in.Severity}, {"owner", in.Owner}, {"run_id", in.RunID}} {
		if strings.ContainsAny(f[1], "\r\n") || utf8.RuneCountInString(f[1]) > 100 {
			return nil, sdk.Error(sdk.CodeInvalidInput, "with.%s must be one line of at most 100 characters", f[0])
		}
	}
	for i, l := range in.Labels {
		if strings.TrimSpace(l) == "" || utf8.RuneCountInString(l) > 50 {
			return nil, sdk.Error(sdk.CodeInvalidInput, "with.labels[%d] must be a label name of 1 to 50 characters, got %q", i, l)
		}
	}
	if len(in.DedupeKeys) > 5 {
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.dedupe_keys has %d keys, at most 5 are allowed", len(in.DedupeKeys))
	}
	if (in.Comment != "" || in.Close) && len(in.DedupeKeys) == 0 {
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.comment and with.close need with.dedupe_keys: they act on the open issue of an incident")
	}
	is.dedupe = in.DedupeKeys
	if len(in.Assignees) > 10 {
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.assignees names %d people, GitHub takes 10 at most", len(in.Assignees))
	}
	switch r := in.Reproduction.(type) {
	case nil:
	case string:
		is.commands = headOf(r, maxTextChars)
	case []any:
		if len(r) > maxSteps {
			return nil, sdk.Error(sdk.CodeInvalidInput, "with.reproduction has %d steps, more than %d: put the commands in a string instead", len(r), maxSteps)
		}
		for i, s := range r {
			step, ok := s.(string)
			if !ok {
				return nil, sdk.Error(sdk.CodeInvalidInput, "with.reproduction[%d] must be a string, got %v", i, s)
			}
			is.steps = append(is.steps, truncate(step, 1000))
		}
	default:
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.reproduction must be a list of steps or a string of commands, got %v", r)
	}
	if is.runID == "" {
		is.runID = call.RunID
	}
	is.runLink = n.runLink(is.runID)
	return is, nil
}
