// Package gittest makes real Git repositories for tests with the git
// binary: commits, branches, tags, SSH-signed commits with a key made by
// ssh-keygen, and a bare repository served over Git's smart HTTP protocol
// (git http-backend behind net/http/cgi).
package gittest

import (
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a work tree with its repository.
type Repo struct {
	t   testing.TB
	Dir string
}

// New makes an empty repository whose branch is main.
func New(t testing.TB) *Repo {
	t.Helper()
	r := &Repo{t: t, Dir: t.TempDir()}
	r.Git("init", "--quiet", "--initial-branch=main")
	r.Git("config", "user.email", "author@example.com")
	r.Git("config", "user.name", "Author")
	r.Git("config", "commit.gpgsign", "false")
	return r
}

// Git runs git in the work tree and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return Run(r.t, r.Dir, args...)
}

// Run runs git in dir, failing the test on an error.
func Run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write writes files (path → content) into the work tree.
func (r *Repo) Write(files map[string]string) {
	r.t.Helper()
	for p, c := range files {
		full := filepath.Join(r.Dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// Commit writes files, commits everything and returns the commit.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	r.Write(files)
	r.Git("add", "--all")
	r.Git("commit", "--quiet", "--allow-empty", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// Key is an SSH signing key and the allowed-signers file naming it.
type Key struct {
	Private        string // path of the private key
	AllowedSigners string // path of an allowed-signers file with its public key
}

// NewKey makes an Ed25519 key with ssh-keygen, allowed for the author's
// email.
func NewKey(t testing.TB) Key {
	t.Helper()
	dir := t.TempDir()
	k := Key{Private: filepath.Join(dir, "id_ed25519"), AllowedSigners: filepath.Join(dir, "allowed_signers")}
	cmd := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "author@example.com", "-f", k.Private)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(k.Private + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.AllowedSigners, []byte("author@example.com "+string(pub)), 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

// CommitSigned commits like Commit, signed with key (gpg.format=ssh).
func (r *Repo) CommitSigned(msg string, key Key, files map[string]string) string {
	r.t.Helper()
	r.Write(files)
	r.Git("add", "--all")
	r.Git("-c", "gpg.format=ssh", "-c", "user.signingkey="+key.Private, "commit", "--quiet", "--allow-empty", "-S", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// Server is a folder of bare repositories served over smart HTTP.
type Server struct {
	*httptest.Server
	Root string
}

// Serve serves the bare repositories under a new folder with git
// http-backend (CGI), read and write.
func Serve(t testing.TB) *Server {
	t.Helper()
	root := t.TempDir()
	execPath := Run(t, root, "--exec-path")
	h := &cgi.Handler{
		Path: filepath.Join(execPath, "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
	}
	s := &Server{Server: httptest.NewServer(h), Root: root}
	t.Cleanup(s.Close)
	return s
}

// Bare makes the bare repository name.git on the server, accepting
// pushes, and returns its URL.
func (s *Server) Bare(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(s.Root, name+".git")
	Run(t, s.Root, "init", "--quiet", "--bare", "--initial-branch=main", dir)
	Run(t, dir, "config", "http.receivepack", "true")
	return s.URL + "/" + name + ".git"
}

// Blob returns the content of a blob, as it is.
func (r *Repo) Blob(sha string) []byte {
	r.t.Helper()
	out, err := exec.Command("git", "-C", r.Dir, "cat-file", "blob", sha).Output()
	if err != nil {
		r.t.Fatalf("git cat-file blob %s: %v", sha, err)
	}
	return out
}

// PGPKey is an OpenPGP signing key in a GnuPG home of its own.
type PGPKey struct {
	Home        string // GNUPGHOME holding the key
	Fingerprint string
}

// NewPGPKey makes an Ed25519 OpenPGP key for the author's email, with
// no passphrase, in a new GnuPG home; its agent is stopped at cleanup.
func NewPGPKey(t testing.TB) PGPKey {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg") // short: the agent's socket path is bounded
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	gpg := func(args ...string) string {
		cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", home}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	gpg("--passphrase", "", "--quick-gen-key", "Author <author@example.com>", "ed25519", "sign", "never")
	for _, line := range strings.Split(gpg("--list-keys", "--with-colons"), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			return PGPKey{Home: home, Fingerprint: f[9]}
		}
	}
	t.Fatal("gpg made no key")
	return PGPKey{}
}

// CommitSignedPGP commits like Commit, signed with the OpenPGP key.
func (r *Repo) CommitSignedPGP(msg string, key PGPKey, files map[string]string) string {
	r.t.Helper()
	r.Write(files)
	r.Git("add", "--all")
	cmd := exec.Command("git", "-c", "gpg.format=openpgp", "-c", "user.signingkey="+key.Fingerprint, "commit", "--quiet", "--allow-empty", "-S", "-m", msg)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GNUPGHOME="+key.Home, "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.Dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("git commit -S (openpgp): %v\n%s", err, out)
	}
	return r.Git("rev-parse", "HEAD")
}

// Object returns the raw content of a Git object (a commit with its
// gpgsig header, say).
func (r *Repo) Object(sha string) []byte {
	r.t.Helper()
	out, err := exec.Command("git", "-C", r.Dir, "cat-file", "-p", sha).Output()
	if err != nil {
		r.t.Fatalf("git cat-file -p %s: %v", sha, err)
	}
	return out
}
