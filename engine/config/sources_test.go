package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/schema"
)

func TestSourcesParse(t *testing.T) {
	src := `runbooks: [more]
sources:
  - name: ops
    git: repos/runbooks.git
    ref: release-1
    path: /runbooks/
    protected_branch: main
    signature: ssh
    signers: allowed_signers
    allow_refs: [main, release-*]
    poll: 5m
  - name: cloud
    github: acme/runbooks
    token: {secret: GH_TOKEN}
    base_url: https://ghe.example.com/api/v3/
  - name: remote
    git: https://git.example.com/runbooks.git
  - name: as-app
    github: acme/runbooks
    app: {id: 7, installation_id: 42, private_key: {secret: APP_KEY}}
  - name: local
    folder: local-runbooks
`
	cfg, err := Parse("/etc/steward/steward.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ops, _ := cfg.Source("ops")
	if ops.Kind != SourceGit || ops.Location != "/etc/steward/repos/runbooks.git" || ops.Ref != "release-1" || ops.Path != "runbooks" ||
		ops.ProtectedBranch != "main" || ops.Signers != "/etc/steward/allowed_signers" || strings.Join(ops.AllowRefs, ",") != "main,release-*" || ops.Poll != 5*time.Minute {
		t.Fatalf("ops: %+v", ops)
	}
	cloud, _ := cfg.Source("cloud")
	if cloud.Kind != SourceGitHub || cloud.Location != "acme/runbooks" || cloud.Ref != "main" || cloud.Token != "GH_TOKEN" {
		t.Fatalf("cloud: %+v", cloud)
	}
	if a, _ := cfg.Source("as-app"); a.App == nil || *a.App != (GitHubApp{ID: 7, InstallationID: 42, PrivateKey: "APP_KEY"}) {
		t.Fatalf("as-app: %+v", a)
	}
	if r, _ := cfg.Source("remote"); r.Location != "https://git.example.com/runbooks.git" {
		t.Fatalf("remote: %+v", r)
	}
	if got := strings.Join(cfg.Folders(), ","); got != filepath.FromSlash("/etc/steward/local-runbooks,/etc/steward/more") {
		t.Fatalf("folders %s", got)
	}
}

// TestSourcesDiagnostics: problems of the sources section, and a URL in
// runbooks:, in the runbook diagnostics' form.
func TestSourcesDiagnostics(t *testing.T) {
	src := `runbooks: [https://github.com/acme/runbooks]
sources:
  - name: ops
    git: /srv/runbooks.git
    reff: main
  - name: ops
    github: acme
  - name: Bad
    folder: https://x.example.com/r.git
    ref: main
  - git: /srv/a.git
    signature: ssh
    token: ghp_plaintext
  - name: app
    github: acme/x
    token: {secret: T}
    app: {id: 0, private_key: pem}
  - name: gitty
    git: /srv/b.git
    base_url: https://ghe.example.com/api/v3/
    path: ../up
`
	_, err := Parse("steward.yaml", []byte(src))
	var diags schema.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("error %T %v", err, err)
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.Header()+" | "+d.Hint)
	}
	want := []string{
		`steward.yaml:1:12: runbooks[0]: runbooks lists folders; "https://github.com/acme/runbooks" is a URL | declare a Git or GitHub source: sources: [{name: ops, git: https://github.com/acme/runbooks}]`,
		`steward.yaml:5:5: sources[0].reff: unknown key "reff" | did you mean "ref"?`,
		`steward.yaml:6:5: sources[1].name: source "ops" is defined twice | each source has a name of its own`,
		`steward.yaml:7:13: sources[1].github: invalid GitHub repository "acme" | write owner/name, as in github.com/OWNER/NAME`,
		`steward.yaml:8:11: sources[2].name: invalid source name "Bad" | lower-case letters, digits, _ and -, starting with a letter`,
		`steward.yaml:9:13: sources[2].folder: a folder is a path; "https://x.example.com/r.git" is a URL | write git: https://x.example.com/r.git for a Git repository`,
		`steward.yaml:10:5: sources[2].ref: ref is for Git and GitHub sources | a folder has no commits: use git: or github:`,
		`steward.yaml:11:5: sources[3]: a source needs a name | write name: ops`,
		`steward.yaml:11:5: sources[3]: signature and signers go together | write signature: ssh with signers: allowed_signers (or signature: openpgp with signers: a GnuPG home)`,
		`steward.yaml:13:12: sources[3].token: write {secret: NAME}: a token is never written in steward.yaml | NAME is letters, digits and _; the value is read from STEWARD_SECRET_NAME`,
		`steward.yaml:14:5: sources[4]: token and app are both given | a GitHub source authenticates with a token or as an App, not both`,
		`steward.yaml:17:15: sources[4].app.id: id must be positive | the number GitHub shows in the App's settings`,
		`steward.yaml:17:31: sources[4].app.private_key: write {secret: NAME}: a private key is never written in steward.yaml | NAME is letters, digits and _; the PEM is read from STEWARD_SECRET_NAME`,
		`steward.yaml:18:5: sources[5]: a git: source takes no token, app or base_url | token, app and base_url are for github: sources`,
		`steward.yaml:21:11: sources[5].path: invalid path "../up" | a folder inside the repository, such as runbooks`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSourcesPoll: a git: source may poll every second; a github:
// source at most every 10s (its API's rate limit).
func TestSourcesPoll(t *testing.T) {
	cfg, err := Parse("steward.yaml", []byte("sources:\n  - {name: ops, git: /srv/a.git, poll: 1s}\n  - {name: gh, github: acme/x, poll: 10s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sources[0].Poll != time.Second || cfg.Sources[1].Poll != 10*time.Second {
		t.Fatalf("polls %v %v", cfg.Sources[0].Poll, cfg.Sources[1].Poll)
	}
	for src, want := range map[string]string{
		"sources: [{name: ops, git: /srv/a.git, poll: 500ms}]\n": "steward.yaml:1:46: sources[0].poll: sources poll interval 500ms is too short | poll at most every second",
		"sources: [{name: gh, github: acme/x, poll: 5s}]\n":      "steward.yaml:1:44: sources[0].poll: sources poll interval 5s is too short | poll a github: source at most every 10s (its API's rate limit); a push webhook (server.sources_hook_secret) syncs at once",
	} {
		_, err := Parse("steward.yaml", []byte(src))
		var diags schema.Diagnostics
		if !errors.As(err, &diags) || len(diags) != 1 {
			t.Fatalf("%q: error %v, want one diagnostic", src, err)
		}
		if got := diags[0].Header() + " | " + diags[0].Hint; got != want {
			t.Errorf("%q:\n got %s\nwant %s", src, got, want)
		}
	}
}
