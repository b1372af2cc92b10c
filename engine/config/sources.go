package config

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/schema"
	"gopkg.in/yaml.v3"
)

// Source is one entry of sources: where runbooks come from, by name.
//
//	sources:
//	  - name: ops                       # runbooks of a local Git repository,
//	    git: /srv/git/runbooks.git      # or a URL fetched into $STEWARD_HOME
//	    ref: main                       # branch, tag or commit (default main)
//	    path: runbooks                  # folder inside the repository (default: its root)
//	    protected_branch: main          # a pinned commit must be reachable from it
//	    signers: allowed_signers        # and signed by one of these SSH keys
//	    allow_refs: [release-*]         # steward run NAME@REF may name these refs
//	  - name: cloud
//	    github: acme/runbooks           # owner/name, through the GitHub REST API
//	    ref: main
//	    token: {secret: GITHUB_TOKEN}   # default: $GITHUB_TOKEN
//	    base_url: https://ghe.example.com/api/v3/   # GitHub Enterprise
//	  - name: local
//	    folder: runbooks                # a folder, as runbooks: lists them
type Source struct {
	Name string
	// Kind is SourceFolder, SourceGit or SourceGitHub.
	Kind string
	// Location is the folder or repository path (absolute), the Git URL,
	// or owner/name for GitHub.
	Location string
	// Ref is the branch, tag or commit a sync pins (default main).
	Ref string
	// Path is the folder inside the repository holding the runbooks, a
	// clean slash path; "" for the root.
	Path string
	// AllowRefs are the refs (path.Match patterns) that steward run
	// NAME@REF may name; none: only the pin runs.
	AllowRefs []string
	// ProtectedBranch, when set, is the branch every pinned or run commit
	// must be reachable from.
	ProtectedBranch string
	// Signature, when set (ssh or openpgp), requires every pinned or run
	// commit to carry a valid signature from Signers: an SSH
	// allowed-signers file, or a GnuPG home folder holding the allowed
	// OpenPGP keys. Absolute.
	Signature, Signers string
	// Token is the NAME of the secret (STEWARD_SECRET_NAME) holding the
	// GitHub token; "": $GITHUB_TOKEN.
	Token string
	// BaseURL is the API root of a GitHub Enterprise server; "": api.github.com.
	BaseURL string
	// App, when set, authenticates a GitHub source as a GitHub App
	// installation instead of with Token.
	App *GitHubApp
	// Poll is how often steward serve syncs the source; 0: only on
	// webhooks and steward sources sync.
	Poll time.Duration

	Pos schema.Pos
}

// GitHubApp is a GitHub App installation a source authenticates as:
// each use mints an installation token with a JWT signed by the App's
// private key.
//
//	app: {id: 12345, installation_id: 67890, private_key: {secret: GH_APP_KEY}}
type GitHubApp struct {
	ID, InstallationID int64
	// PrivateKey is the NAME of the secret (STEWARD_SECRET_NAME) holding
	// the App's PEM private key.
	PrivateKey string
}

// Kinds of sources.
const (
	SourceFolder = "folder"
	SourceGit    = "git"
	SourceGitHub = "github"
)

// Signature kinds of sources.*.signature.
const (
	SignatureSSH     = "ssh"
	SignatureOpenPGP = "openpgp"
)

var (
	sourceKeys  = []string{"name", SourceFolder, SourceGit, SourceGitHub, "ref", "path", "allow_refs", "protected_branch", "signature", "signers", "token", "base_url", "poll", "app"}
	appKeys     = []string{"id", "installation_id", "private_key"}
	sourceName  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`) })
	githubRepo  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`) })
	refPattern  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/*-]*$`) })
	sourceKinds = []string{SourceFolder, SourceGit, SourceGitHub}
)

// Source returns the source called name.
func (c *Config) Source(name string) (*Source, bool) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], true
		}
	}
	return nil, false
}

// IsURL says whether s is a URL or an scp-like Git address
// (git@host:path) rather than a path.
func IsURL(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	at, colon := strings.Index(s, "@"), strings.Index(s, ":")
	return at > 0 && colon > at && !strings.ContainsAny(s[:at], "/")
}

// runbookFolders checks the runbooks: list: a URL there is not a folder.
func (l *loader) runbookFolders(n *yaml.Node, path string) {
	for i, c := range n.Content {
		c = resolve(c)
		if c.Kind == yaml.ScalarNode && IsURL(c.Value) {
			l.errorf(c, fmt.Sprintf("%s[%d]", path, i), "declare a Git or GitHub source: sources: [{name: ops, git: "+c.Value+"}]",
				"runbooks lists folders; %q is a URL", c.Value)
		}
	}
}

func (l *loader) sources(n *yaml.Node, p string) {
	if n.ShortTag() == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, p, "write a list: sources: [{name: ops, git: /srv/git/runbooks.git, ref: main}]", "expected a list, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i, c := range n.Content {
		c = resolve(c)
		ip := fmt.Sprintf("%s[%d]", p, i)
		s, ok := l.source(c, ip)
		if s.Name != "" && seen[s.Name] {
			l.errorf(c, ip+".name", "each source has a name of its own", "source %q is defined twice", s.Name)
			continue
		}
		seen[s.Name] = true
		if ok {
			l.cfg.Sources = append(l.cfg.Sources, s)
		}
	}
}

func (l *loader) source(n *yaml.Node, p string) (Source, bool) {
	s := Source{Pos: pos(n)}
	before := len(l.diags)
	pairs := l.mapping(n, p, sourceKeys)
	if n.Kind != yaml.MappingNode {
		return s, false
	}
	dir := filepath.Dir(l.file)
	var kindNode, pollNode *yaml.Node
	for _, q := range pairs {
		switch q.key {
		case "name":
			s.Name = l.str(q.v, q.path, false)
			if s.Name != "" && !sourceName().MatchString(s.Name) {
				l.errorf(q.v, q.path, "lower-case letters, digits, _ and -, starting with a letter", "invalid source name %q", s.Name)
			}
		case SourceFolder, SourceGit, SourceGitHub:
			if kindNode != nil {
				l.errorf(q.k, q.path, "a source is one of "+strings.Join(sourceKinds, ", "), "%s and %s are both given", s.Kind, q.key)
				continue
			}
			kindNode, s.Kind = q.k, q.key
			v := l.str(q.v, q.path, false)
			switch {
			case v == "":
			case q.key == SourceGitHub && !githubRepo().MatchString(v):
				l.errorf(q.v, q.path, "write owner/name, as in github.com/OWNER/NAME", "invalid GitHub repository %q", v)
			case q.key == SourceFolder && IsURL(v):
				l.errorf(q.v, q.path, "write git: "+v+" for a Git repository", "a folder is a path; %q is a URL", v)
			case q.key != SourceGitHub && !IsURL(v) && !filepath.IsAbs(v):
				// Absolute: a run records where its repository is.
				if abs, err := filepath.Abs(filepath.Join(dir, v)); err == nil {
					v = abs
				}
			}
			s.Location = v
		case "ref", "protected_branch":
			v := l.str(q.v, q.path, false)
			if v != "" && (!refPattern().MatchString(v) || strings.Contains(v, "..") || strings.Contains(v, "*")) {
				l.errorf(q.v, q.path, "a branch, tag or commit name", "invalid ref %q", v)
				continue
			}
			if q.key == "ref" {
				s.Ref = v
			} else {
				s.ProtectedBranch = v
			}
		case "path":
			v := l.str(q.v, q.path, false)
			clean := path.Clean(strings.Trim(v, "/"))
			if v != "" && (clean == ".." || strings.HasPrefix(clean, "../")) {
				l.errorf(q.v, q.path, "a folder inside the repository, such as runbooks", "invalid path %q", v)
				continue
			}
			if clean != "." {
				s.Path = clean
			}
		case "allow_refs":
			for i, r := range l.strList(q.v, q.path, "write a list: allow_refs: [main, release-*]") {
				if !refPattern().MatchString(r) || strings.Contains(r, "..") {
					l.errorf(q.v.Content[i], fmt.Sprintf("%s[%d]", q.path, i), "a ref or a pattern such as release-*", "invalid ref pattern %q", r)
					continue
				}
				if _, err := path.Match(r, ""); err != nil {
					l.errorf(q.v.Content[i], fmt.Sprintf("%s[%d]", q.path, i), "", "invalid ref pattern %q: %v", r, err)
					continue
				}
				s.AllowRefs = append(s.AllowRefs, r)
			}
		case "signature":
			s.Signature = l.str(q.v, q.path, false)
			if s.Signature != "" && s.Signature != SignatureSSH && s.Signature != SignatureOpenPGP {
				hint := didYouMean(s.Signature, []string{SignatureSSH, SignatureOpenPGP})
				if hint == "" {
					hint = "ssh or openpgp"
				}
				l.errorf(q.v, q.path, hint, "unknown signature kind %q", s.Signature)
			}
		case "signers":
			s.Signers = l.str(q.v, q.path, false)
			if s.Signers != "" && !filepath.IsAbs(s.Signers) {
				s.Signers = filepath.Join(dir, s.Signers)
			}
		case "token":
			ref, ok := secretRef(resolve(q.v))
			if q.v.Kind != yaml.MappingNode || !ok || ref == nil || !secretName().MatchString(ref.Value) || len(q.v.Content) != 2 {
				l.errorf(q.v, q.path, "NAME is letters, digits and _; the value is read from STEWARD_SECRET_NAME", "write {secret: NAME}: a token is never written in steward.yaml")
				continue
			}
			s.Token = ref.Value
		case "app":
			s.App = l.githubApp(q.v, q.path)
		case "base_url":
			s.BaseURL = l.str(q.v, q.path, false)
			if s.BaseURL != "" && !strings.HasPrefix(s.BaseURL, "https://") && !strings.HasPrefix(s.BaseURL, "http://") {
				l.errorf(q.v, q.path, "such as https://ghe.example.com/api/v3/", "base_url must be an http(s) URL, got %q", s.BaseURL)
			}
		case "poll":
			v := l.str(q.v, q.path, true)
			d, err := time.ParseDuration(v)
			switch {
			case v == "":
			case err != nil:
				l.errorf(q.v, q.path, "write a duration such as 5m", "invalid duration %q", v)
			case d < time.Second:
				l.errorf(q.v, q.path, "poll at most every second", "sources poll interval %s is too short", d)
			default:
				s.Poll, pollNode = d, q.v
			}
		}
	}
	// A local or remote Git repository may be polled every second (git
	// fetch asks nothing when nothing changed); GitHub's API counts each
	// request against the rate limit: a push webhook syncs at once.
	if s.Kind == SourceGitHub && s.Poll > 0 && s.Poll < 10*time.Second {
		l.errorf(pollNode, p+".poll", "poll a github: source at most every 10s (its API's rate limit); a push webhook (server.sources_hook_secret) syncs at once", "sources poll interval %s is too short", s.Poll)
		s.Poll = 0
	}
	if s.Name == "" && !l.given(n, "name") {
		l.errorf(n, p, "write name: ops", "a source needs a name")
	}
	if kindNode == nil {
		l.errorf(n, p, "write one of folder: PATH, git: PATH_OR_URL, github: OWNER/NAME", "a source needs folder, git or github")
	}
	if s.Kind != SourceGit && s.Kind != SourceGitHub && s.Kind != "" {
		for _, q := range pairs {
			if contains([]string{"ref", "path", "allow_refs", "protected_branch", "signature", "signers", "token", "base_url", "app"}, q.key) {
				l.errorf(q.k, q.path, "a folder has no commits: use git: or github:", "%s is for Git and GitHub sources", q.key)
			}
		}
	}
	if s.Kind == SourceGit && (s.Token != "" || s.BaseURL != "" || s.App != nil) {
		l.errorf(n, p, "token, app and base_url are for github: sources", "a git: source takes no token, app or base_url")
	}
	if s.Token != "" && s.App != nil {
		l.errorf(n, p, "a GitHub source authenticates with a token or as an App, not both", "token and app are both given")
	}
	if (s.Signature == "") != (s.Signers == "") {
		l.errorf(n, p, "write signature: ssh with signers: allowed_signers (or signature: openpgp with signers: a GnuPG home)", "signature and signers go together")
	}
	if s.Kind != "" && s.Kind != SourceFolder && s.Ref == "" {
		s.Ref = "main"
	}
	return s, len(l.diags) == before
}

// Folders are the folders searched for a runbook by name, in order: the
// folder sources, then the runbooks list.
func (c *Config) Folders() []string {
	var out []string
	for _, s := range c.Sources {
		if s.Kind == SourceFolder {
			out = append(out, s.Location)
		}
	}
	return append(out, c.Runbooks...)
}

func (l *loader) githubApp(n *yaml.Node, p string) *GitHubApp {
	app := &GitHubApp{}
	before := len(l.diags)
	for _, q := range l.mapping(n, p, appKeys) {
		switch q.key {
		case "id", "installation_id":
			var v int64
			if !l.decode(q.v, q.path, "!!int", "an integer", &v) {
				continue
			}
			if v <= 0 {
				l.errorf(q.v, q.path, "the number GitHub shows in the App's settings", "%s must be positive", q.key)
			}
			if q.key == "id" {
				app.ID = v
			} else {
				app.InstallationID = v
			}
		case "private_key":
			ref, ok := secretRef(resolve(q.v))
			if q.v.Kind != yaml.MappingNode || !ok || ref == nil || !secretName().MatchString(ref.Value) || len(q.v.Content) != 2 {
				l.errorf(q.v, q.path, "NAME is letters, digits and _; the PEM is read from STEWARD_SECRET_NAME", "write {secret: NAME}: a private key is never written in steward.yaml")
				continue
			}
			app.PrivateKey = ref.Value
		}
	}
	if n.Kind == yaml.MappingNode && len(l.diags) == before && (app.ID == 0 || app.InstallationID == 0 || app.PrivateKey == "") {
		l.errorf(n, p, "write app: {id: 12345, installation_id: 67890, private_key: {secret: GH_APP_KEY}}", "app needs id, installation_id and private_key")
	}
	return app
}
