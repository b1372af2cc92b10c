package runbooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed to make a real checkout for this test")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	file := filepath.Join(dir, "rb", "a.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("name: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := GitCommit(file); got != "" {
		t.Fatalf("no commit yet, got %q", got)
	}
	git("add", ".")
	git("commit", "-q", "-m", "a")
	want := git("rev-parse", "HEAD")
	if got := GitCommit(file); got != want {
		t.Fatalf("loose ref: got %q, want %q", got, want)
	}
	git("pack-refs", "--all")
	if got := GitCommit(file); got != want {
		t.Fatalf("packed ref: got %q, want %q", got, want)
	}
	git("checkout", "-q", "--detach")
	if got := GitCommit(file); got != want {
		t.Fatalf("detached: got %q, want %q", got, want)
	}
	if got := GitCommit(filepath.Join(t.TempDir(), "x.yaml")); got != "" {
		t.Fatalf("outside a checkout: got %q", got)
	}
}
