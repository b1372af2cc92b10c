package runbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoRunbooks is returned when the paths hold no runbook file.
var ErrNoRunbooks = errors.New("runbooks: no runbook files found")

// IsRunbookFile reports whether a file name is a runbook: *.yaml or *.yml,
// but not a runbook test file (*.test.yaml, *.test.yml).
func IsRunbookFile(name string) bool {
	ext := filepath.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	return !strings.HasSuffix(strings.TrimSuffix(name, ext), ".test")
}

// Find expands files and folders into runbook file paths. Folders are walked
// recursively for runbook files, skipping hidden folders such as .git and
// the files folders that hold the runbooks' data files; a
// file named explicitly is taken whatever its name. The result is sorted
// and has no duplicates.
func Find(paths []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("runbooks: %w", err)
		}
		if !info.IsDir() {
			add(root)
			continue
		}
		files, err := Walk(root, IsRunbookFile)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			add(f)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoRunbooks, strings.Join(paths, ", "))
	}
	return out, nil
}

// FilesDir is the folder beside runbooks that holds the data files they
// read with core.read_file (an access policy, a roster): it is not
// searched for runbooks.
const FilesDir = "files"

// Walk returns the regular files under the folder root whose name match
// accepts, skipping hidden folders such as .git and files folders.
func Walk(root string, match func(name string) bool) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == FilesDir) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && match(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("runbooks: %w", err)
	}
	return out, nil
}
