package sources

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/engine/config"
)

// gitRepo reads a repository with the git binary, always with an argv,
// never a shell string. The git binary rather than go-git: it verifies SSH
// commit signatures against an allowed-signers file (go-git v5 verifies
// OpenPGP only), speaks every transport the machine is set up for, and
// git cat-file --batch reads all the blobs of a tree in one process.
//
// A source whose git: is a path reads that repository; one whose git: is
// a URL is mirrored into a bare repository under --home and fetched before
// each sync. Either way runbooks are read from a commit's tree, never
// from a work tree: an uncommitted edit never runs.
type gitRepo struct {
	src config.Source
	dir string // the repository read
	url string // fetched into dir; "" when dir is the source's own path
}

func newGitRepo(src config.Source, mirror string) *gitRepo {
	if config.IsURL(src.Location) {
		return &gitRepo{src: src, dir: mirror, url: src.Location}
	}
	return &gitRepo{src: src, dir: src.Location}
}

func (g *gitRepo) Name() string { return g.src.Location }

// run runs git in the repository and returns its standard output; an
// error carries git's first line of standard error.
func (g *gitRepo) run(ctx context.Context, stdin io.Reader, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.dir}, args...)...)
	// No prompt for credentials, no pager, messages in English to quote.
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_PAGER=cat", "LC_ALL=C")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		all := strings.TrimSpace(errb.String())
		msg, _, _ := strings.Cut(all, "\n")
		return out.Bytes(), &gitError{Args: args, Msg: msg, Stderr: all, Err: err}
	}
	return out.Bytes(), nil
}

type gitError struct {
	Args   []string
	Msg    string // the first line of standard error
	Stderr string // all of it
	Err    error
}

func (e *gitError) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("git %s: %s", e.Args[0], e.Msg)
	}
	return fmt.Sprintf("git %s: %v", e.Args[0], e.Err)
}

func (e *gitError) Unwrap() error { return e.Err }

// exitCode is git's exit status, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// Fetch mirrors the remote's branches and tags into dir (a URL source).
func (g *gitRepo) Fetch(ctx context.Context) error {
	if g.url == "" {
		return nil
	}
	if _, err := os.Stat(g.dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(g.dir, 0o700); err != nil {
			return fmt.Errorf("sources: %w", err)
		}
		if _, err := g.run(ctx, nil, nil, "init", "--quiet", "--bare"); err != nil {
			return fmt.Errorf("sources: %s: %w", g.src.Name, err)
		}
	}
	// protocol.ext.allow=never: a URL never runs a command (ext::).
	if _, err := g.run(ctx, nil, nil, "-c", "protocol.ext.allow=never", "fetch", "--quiet", "--prune", "--force", "--end-of-options", g.url,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return fmt.Errorf("sources: %s: fetching %s: %w", g.src.Name, g.url, err)
	}
	return nil
}

// Resolve returns the commit ref names.
func (g *gitRepo) Resolve(ctx context.Context, ref string) (string, error) {
	out, err := g.run(ctx, nil, nil, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 {
			return "", fmt.Errorf("%w: %q in %s", ErrUnknownRef, ref, g.src.Location)
		}
		return "", fmt.Errorf("sources: %s: %w", g.src.Name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Tree lists the files under dir ("" for all) at commit.
func (g *gitRepo) Tree(ctx context.Context, commit, dir string) (Tree, error) {
	args := []string{"ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit}
	if dir != "" {
		args = append(args, "--", dir)
	}
	out, err := g.run(ctx, nil, nil, args...)
	if err != nil {
		return nil, fmt.Errorf("sources: %s: %w", g.src.Name, err)
	}
	tree := Tree{}
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		f := strings.Fields(string(meta))
		if !ok || len(f) != 3 {
			return nil, fmt.Errorf("sources: %s: unexpected git ls-tree line %q", g.src.Name, rec)
		}
		if f[1] != "blob" { // submodules (commit) are not followed
			continue
		}
		tree[string(p)] = Entry{Blob: f[2], Mode: f[0]}
	}
	return tree, nil
}

// Blobs reads the blobs shas in one git cat-file --batch.
func (g *gitRepo) Blobs(ctx context.Context, shas []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(shas) == 0 {
		return out, nil
	}
	in := strings.Join(shas, "\n") + "\n"
	raw, err := g.run(ctx, strings.NewReader(in), nil, "cat-file", "--batch")
	if err != nil {
		return nil, fmt.Errorf("sources: %s: %w", g.src.Name, err)
	}
	r := bufio.NewReader(bytes.NewReader(raw))
	for range shas {
		head, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("sources: %s: git cat-file: %w", g.src.Name, err)
		}
		f := strings.Fields(head)
		if len(f) != 3 {
			return nil, fmt.Errorf("sources: %s: git cat-file: %s", g.src.Name, strings.TrimSpace(head))
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("sources: %s: git cat-file: %s", g.src.Name, strings.TrimSpace(head))
		}
		b := make([]byte, n+1) // and the newline after it
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("sources: %s: git cat-file: %w", g.src.Name, err)
		}
		out[f[0]] = b[:n]
	}
	return out, nil
}

// Reachable says whether commit is reachable from branch.
func (g *gitRepo) Reachable(ctx context.Context, commit, branch string) (bool, error) {
	_, err := g.run(ctx, nil, nil, "merge-base", "--is-ancestor", commit, "refs/heads/"+branch)
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1:
		return false, nil
	}
	return false, fmt.Errorf("sources: %s: %w", g.src.Name, err)
}

// VerifySignature checks that commit is signed by an allowed key.
func (g *gitRepo) VerifySignature(ctx context.Context, commit string) error {
	var env []string
	args := []string{"-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile=" + g.src.Signers}
	if g.src.Signature == config.SignatureOpenPGP {
		args = []string{"-c", "gpg.format=openpgp"}
		env = []string{"GNUPGHOME=" + g.src.Signers}
	}
	if _, err := g.run(ctx, nil, env, append(args, "verify-commit", commit)...); err != nil {
		// Every line: "Good signature" may come before "No principal
		// matched".
		var ge *gitError
		msg := err.Error()
		if errors.As(err, &ge) && ge.Stderr != "" {
			msg = strings.Join(strings.Fields(strings.ReplaceAll(ge.Stderr, "\n", "; ")), " ")
		}
		if msg == "" || exitCode(err) == 1 && !strings.Contains(msg, "ignature") {
			msg = "no signature"
		}
		return fmt.Errorf("%w: commit %s: %s", ErrUnsigned, short(commit), msg)
	}
	return nil
}

// Report does nothing: a local repository has no commit statuses.
func (g *gitRepo) Report(context.Context, string, bool, string) error { return nil }
