package runbooks

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// GitCommit returns the commit checked out in the Git work tree holding
// file, or "" when there is none. It reads .git directly (HEAD, loose and
// packed refs, a .git file of a worktree); it never runs git. The commit
// says which version of the repository the run came from; the content hash
// says whether the file matched it.
func GitCommit(file string) string {
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return ""
	}
	for {
		gitDir := filepath.Join(dir, ".git")
		if fi, err := os.Stat(gitDir); err == nil {
			if !fi.IsDir() {
				gitDir = worktreeGitDir(gitDir)
			}
			return headCommit(gitDir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// worktreeGitDir follows a .git file ("gitdir: PATH").
func worktreeGitDir(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	p, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
	if !ok {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(file), p)
	}
	return p
}

func headCommit(gitDir string) string {
	head, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	h := strings.TrimSpace(string(head))
	ref, ok := strings.CutPrefix(h, "ref: ")
	if !ok {
		return validHash(h)
	}
	// A worktree keeps its refs in the common folder.
	dirs := []string{gitDir}
	if c, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(c))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		dirs = append(dirs, common)
	}
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, filepath.FromSlash(ref))); err == nil {
			return validHash(strings.TrimSpace(string(b)))
		}
		if c := packedRef(filepath.Join(d, "packed-refs"), ref); c != "" {
			return c
		}
	}
	return ""
}

func packedRef(path, ref string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hash, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref {
			return validHash(hash)
		}
	}
	return ""
}

func validHash(h string) string {
	if len(h) != 40 && len(h) != 64 {
		return ""
	}
	for _, c := range h {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return ""
		}
	}
	return h
}
