package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/runbooks/sources"
)

// githubStatusFlags are steward validate's --github-status flags.
type githubStatusFlags struct {
	on             bool
	repo, sha, api string
	owner, name    string
	token          string
}

func (f *githubStatusFlags) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.on, "github-status", false, "post the outcome as the GitHub commit status steward/validate (token: GITHUB_TOKEN)")
	fl.StringVar(&f.repo, "github-repo", os.Getenv("GITHUB_REPOSITORY"), "OWNER/NAME for --github-status (env GITHUB_REPOSITORY)")
	fl.StringVar(&f.sha, "github-sha", os.Getenv("GITHUB_SHA"), "commit for --github-status (env GITHUB_SHA)")
	fl.StringVar(&f.api, "github-api-url", os.Getenv("GITHUB_API_URL"), "GitHub API root for --github-status (env GITHUB_API_URL; default api.github.com)")
}

// check refuses --github-status without what it needs, before anything
// is validated.
func (f *githubStatusFlags) check() error {
	if !f.on {
		return nil
	}
	f.token = os.Getenv("GITHUB_TOKEN")
	var missing []string
	owner, name, ok := strings.Cut(f.repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		missing = append(missing, fmt.Sprintf("--github-repo OWNER/NAME (or GITHUB_REPOSITORY), got %q", f.repo))
	}
	if len(f.sha) != 40 || strings.Trim(f.sha, "0123456789abcdef") != "" {
		missing = append(missing, fmt.Sprintf("--github-sha with a full commit SHA (or GITHUB_SHA), got %q", f.sha))
	}
	if f.token == "" {
		missing = append(missing, "GITHUB_TOKEN")
	}
	if len(missing) > 0 {
		return usageError("--github-status needs %s", strings.Join(missing, "; "))
	}
	f.owner, f.name = owner, name
	return nil
}

// post posts the outcome of validation (verr: report's error) and
// returns verr, or the failure to post.
func (f *githubStatusFlags) post(cmd *cobra.Command, results []runbooks.Result, verr error) error {
	if !f.on {
		return verr
	}
	desc := fmt.Sprintf("%s valid", plural(len(results), "runbook"))
	if verr != nil {
		bad, problems := 0, 0
		for _, r := range results {
			if n, _ := r.Diags.Count(); n > 0 {
				bad++
				problems += n
			}
		}
		desc = fmt.Sprintf("%s in %s of %s", plural(problems, "problem"), plural(bad, "file"), plural(len(results), "runbook"))
		if results == nil {
			desc = "steward.yaml is invalid"
		}
	}
	c, err := sources.NewGitHubClient(f.api, f.token, nil)
	if err == nil {
		err = sources.PostStatus(cmd.Context(), c, f.owner, f.name, f.sha, verr == nil, desc, "")
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "steward: %s\n", printable.Line(userMessage(err.Error())))
		if verr == nil {
			return &exitError{code: exitFailed}
		}
		return verr
	}
	state := "success"
	if verr != nil {
		state = "failure"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "posted %s to %s@%s as %s: %s\n", state, f.repo, f.sha[:12], sources.StatusContext, desc)
	return verr
}
