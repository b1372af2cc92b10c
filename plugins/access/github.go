package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stewardhq/steward/plugins/sdk"
)

// githubBackend is a GitHub organization: its teams are the groups, its
// members' logins the accounts, through GitHub's REST API (go-github).
// Being a member of the organization (active, or invited) is what makes an
// account exist; disabling an account removes it from the organization,
// which also removes it from the organization's teams.
type githubBackend struct {
	name    string // the backend's name, for messages
	org     string
	token   string // to scrub from messages, should GitHub ever quote it
	host    string
	timeout time.Duration
	c       *github.Client
}

func newGitHubBackend(s GitHubSettings, timeout time.Duration, transport http.RoundTripper) (*githubBackend, error) {
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	base, err := url.Parse(s.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("github.base_url: %v", err)
	}
	hc := &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// The token goes to base_url only: a redirect is not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := github.NewClient(hc).WithAuthToken(s.Token)
	c.BaseURL = base
	c.UserAgent = "steward-plugin-access/" + version
	return &githubBackend{org: s.Org, token: s.Token, host: base.Host, timeout: timeout, c: c}, nil
}

var (
	githubLogin = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}$`)
	githubSlug  = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
)

// checkLogin and checkSlug keep what goes into a request path to what
// GitHub's names may be (go-github does not escape path segments).
func checkLogin(login string) error {
	if !githubLogin().MatchString(login) {
		return sdk.Error(codeInvalidRequest, "%q is not a GitHub login: a login is letters, digits and -, at most 39", login)
	}
	return nil
}

func checkSlug(slug string) error {
	if !githubSlug().MatchString(slug) {
		return sdk.Error(codeInvalidRequest, "%q is not a GitHub team slug: a slug is lower case letters, digits, ., _ and -", slug)
	}
	return nil
}

func isNotFound(err error) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}

// fail turns a go-github error into the plugin's: what was being done,
// and what to check. It never quotes the token.
func (g *githubBackend) fail(ctx context.Context, doing string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s on GitHub: %w", doing, cerr)
	}
	settings := "plugins.settings.access.backends." + g.name + ".github"
	var (
		rl  *github.RateLimitError
		ab  *github.AbuseRateLimitError
		er  *github.ErrorResponse
		ue  *url.Error
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
		out error
	)
	switch {
	case errors.As(err, &rl):
		out = sdk.Retryable(codeConnection, "GitHub's rate limit for the token is used up until %s, while %s: try again after that",
			rl.Rate.Reset.UTC().Format(time.RFC3339), doing)
	case errors.As(err, &ab):
		wait := "a while"
		if ab.RetryAfter != nil {
			wait = ab.RetryAfter.String()
		}
		out = sdk.Retryable(codeConnection, "GitHub's secondary rate limit stopped %s: try again in %s", doing, wait)
	case errors.As(err, &er) && er.Response != nil:
		status := er.Response.StatusCode
		text := fmt.Sprintf("%d %s", status, http.StatusText(status))
		msg := er.Message
		if msg == "" {
			msg = "no details"
		}
		switch {
		case status == http.StatusUnauthorized:
			out = sdk.Error(codeAuthFailed, "GitHub refused the token (%s) while %s: check %s.token", text, doing, settings)
		case status == http.StatusForbidden:
			out = sdk.Error(codeAuthFailed, "the token may not do this (%s: %s) while %s: it needs the admin:org scope, or a fine-grained token with the organization's Members permission (read and write)",
				text, msg, doing)
		case status == http.StatusTooManyRequests || status >= 500:
			out = sdk.Retryable(codeConnection, "GitHub answered %s while %s: %s", text, doing, msg)
		case status >= 300 && status < 400:
			out = sdk.Error(codeBackendError, "GitHub answered %s while %s (a redirect, not followed: the token goes to base_url only): check %s.base_url and org",
				text, doing, settings)
		default:
			out = sdk.Error(codeBackendError, "GitHub refused %s (%s): %s", doing, text, msg)
		}
	case errors.As(err, &se) || errors.As(err, &te):
		out = sdk.Error(codeBackendError, "GitHub answered malformed JSON while %s: %v", doing, err)
	case errors.As(err, &ue) && ue.Timeout():
		out = sdk.Retryable(codeConnection, "GitHub at %s did not answer within %s while %s", g.host, g.timeout, doing)
	case errors.As(err, &ue):
		out = sdk.Retryable(codeConnection, "could not reach GitHub at %s while %s: %v; check %s.base_url", g.host, doing, netCause(ue.Err), settings)
	default:
		out = sdk.Error(codeBackendError, "GitHub failed while %s: %v", doing, err)
	}
	if g.token != "" && strings.Contains(out.Error(), g.token) {
		var ae *sdk.ActionError
		errors.As(out, &ae)
		return &sdk.ActionError{Code: ae.Code, Retryable: ae.Retryable, Message: strings.ReplaceAll(ae.Message, g.token, "[redacted]")}
	}
	return out
}

// netCause is a network error without the request's URL (already said).
func netCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe
	}
	return err
}

func (g *githubBackend) lookup(ctx context.Context, call *sdk.Call, account string) (accountState, []string, error) {
	if !githubLogin().MatchString(account) {
		call.Infof("%s is not a GitHub login: no account on %s", account, g.name)
		return accountState{}, nil, nil
	}
	m, _, err := g.c.Organizations.GetOrgMembership(ctx, account, g.org)
	switch {
	case isNotFound(err):
		call.Debugf("%s is not a member of the organization %s", account, g.org)
		return accountState{}, nil, nil
	case err != nil:
		return accountState{}, nil, g.fail(ctx, "reading the organization membership of "+account, err)
	}
	if m.GetState() == "pending" {
		call.Infof("%s is invited to the organization %s and has not accepted yet", account, g.org)
	}
	teams, err := g.teams(ctx)
	if err != nil {
		return accountState{}, nil, err
	}
	var groups []string
	for _, slug := range teams {
		_, _, err := g.c.Teams.GetTeamMembershipBySlug(ctx, g.org, slug, account)
		switch {
		case isNotFound(err):
		case err != nil:
			return accountState{}, nil, g.fail(ctx, "reading the membership of "+account+" in the team "+slug, err)
		default:
			groups = append(groups, slug)
		}
	}
	return accountState{exists: true}, groups, nil
}

// teams lists the organization's team slugs, every page.
func (g *githubBackend) teams(ctx context.Context) ([]string, error) {
	var out []string
	opts := &github.ListOptions{PerPage: 100}
	for {
		teams, resp, err := g.c.Teams.ListTeams(ctx, g.org, opts)
		if err != nil {
			return nil, g.fail(ctx, "listing the teams of "+g.org, err)
		}
		for _, t := range teams {
			out = append(out, t.GetSlug())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *githubBackend) noTeam(slug string) error {
	return sdk.Error(codeNotFound, "no team %s in the GitHub organization %s (backend %s)", slug, g.org, g.name)
}

func (g *githubBackend) members(ctx context.Context, call *sdk.Call, group string) ([]string, error) {
	if err := checkSlug(group); err != nil {
		return nil, err
	}
	out := []string{}
	opts := &github.TeamListTeamMembersOptions{Role: "all", ListOptions: github.ListOptions{PerPage: 100}}
	for {
		users, resp, err := g.c.Teams.ListTeamMembersBySlug(ctx, g.org, group, opts)
		switch {
		case isNotFound(err):
			return nil, g.noTeam(group)
		case err != nil:
			return nil, g.fail(ctx, "listing the members of the team "+group, err)
		}
		for _, u := range users {
			out = append(out, u.GetLogin())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// isMember says whether account is in the team (an active or pending
// membership), and whether the team exists.
func (g *githubBackend) isMember(ctx context.Context, group, account string) (member bool, err error) {
	_, _, err = g.c.Teams.GetTeamMembershipBySlug(ctx, g.org, group, account)
	switch {
	case err == nil:
		return true, nil
	case !isNotFound(err):
		return false, g.fail(ctx, "reading the membership of "+account+" in the team "+group, err)
	}
	// Not a member, or no such team.
	_, _, err = g.c.Teams.GetTeamBySlug(ctx, g.org, group)
	switch {
	case isNotFound(err):
		return false, g.noTeam(group)
	case err != nil:
		return false, g.fail(ctx, "reading the team "+group, err)
	}
	return false, nil
}

// userExists says whether GitHub has a user of that login.
func (g *githubBackend) userExists(ctx context.Context, account string) (bool, error) {
	_, _, err := g.c.Users.Get(ctx, account)
	switch {
	case isNotFound(err):
		return false, nil
	case err != nil:
		return false, g.fail(ctx, "looking up the GitHub user "+account, err)
	}
	return true, nil
}

func (g *githubBackend) noUser(account string) error {
	return sdk.Error(codeNotFound, "no GitHub user %s (backend %s)", account, g.name)
}

func (g *githubBackend) grant(ctx context.Context, call *sdk.Call, group, account string) (bool, error) {
	if err := checkSlug(group); err != nil {
		return false, err
	}
	if err := checkLogin(account); err != nil {
		return false, err
	}
	member, err := g.isMember(ctx, group, account)
	if err != nil || member {
		return false, err
	}
	_, _, err = g.c.Organizations.GetOrgMembership(ctx, account, g.org)
	switch {
	case isNotFound(err):
		exists, err := g.userExists(ctx, account)
		switch {
		case err != nil:
			return false, err
		case !exists:
			return false, g.noUser(account)
		}
		return false, sdk.Error(codeNotFound, "no account %s on %s: the GitHub user %s is not a member of the organization %s; invite them to it first",
			account, g.name, account, g.org)
	case err != nil:
		return false, g.fail(ctx, "reading the organization membership of "+account, err)
	}
	m, _, err := g.c.Teams.AddTeamMembershipBySlug(ctx, g.org, group, account, &github.TeamAddTeamMembershipOptions{Role: "member"})
	if err != nil {
		return false, g.fail(ctx, "adding "+account+" to the team "+group, err)
	}
	if m.GetState() == "pending" {
		call.Infof("the membership of %s in %s is pending until they accept the organization's invitation", account, group)
	}
	return true, nil
}

func (g *githubBackend) revoke(ctx context.Context, call *sdk.Call, group, account string) (bool, error) {
	if err := checkSlug(group); err != nil {
		return false, err
	}
	if err := checkLogin(account); err != nil {
		return false, err
	}
	member, err := g.isMember(ctx, group, account)
	if err != nil || !member {
		return false, err
	}
	_, err = g.c.Teams.RemoveTeamMembershipBySlug(ctx, g.org, group, account)
	switch {
	case isNotFound(err):
		return false, nil // removed meanwhile
	case err != nil:
		return false, g.fail(ctx, "removing "+account+" from the team "+group, err)
	}
	return true, nil
}

// disable removes the login from the organization: GitHub holds no SSH
// keys of an organization, and from then on refuses the login's sessions,
// tokens and keys access to it.
func (g *githubBackend) disable(ctx context.Context, call *sdk.Call, account string) (disableResult, error) {
	changed, err := g.leave(ctx, call, account)
	return disableResult{changed: changed}, err
}

// leave removes the login from the organization.
func (g *githubBackend) leave(ctx context.Context, call *sdk.Call, account string) (bool, error) {
	if err := checkLogin(account); err != nil {
		return false, err
	}
	m, _, err := g.c.Organizations.GetOrgMembership(ctx, account, g.org)
	switch {
	case isNotFound(err):
		exists, err := g.userExists(ctx, account)
		switch {
		case err != nil:
			return false, err
		case !exists:
			return false, g.noUser(account)
		}
		call.Infof("%s is not a member of the organization %s", account, g.org)
		return false, nil
	case err != nil:
		return false, g.fail(ctx, "reading the organization membership of "+account, err)
	}
	if m.GetRole() == "admin" {
		call.Warnf("%s is an owner of the organization %s", account, g.org)
	}
	_, err = g.c.Organizations.RemoveOrgMembership(ctx, account, g.org)
	switch {
	case isNotFound(err):
		return false, nil // removed meanwhile
	case err != nil:
		return false, g.fail(ctx, "removing "+account+" from the organization "+g.org, err)
	}
	return true, nil
}
