package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stewardhq/steward/plugins/protocol"
)

// Prefix starts the file name of every plugin binary: steward-plugin-NAME.
const Prefix = "steward-plugin-"

// binary is a plugin binary found in a plugin folder.
type binary struct {
	name string // NAME in steward-plugin-NAME
	path string
}

// discover lists the plugin binaries in folders; the first folder that
// has a name wins. A folder that does not exist is skipped.
func discover(folders []string) ([]binary, error) {
	seen := map[string]bool{}
	var out []binary
	for _, dir := range folders {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("plugins: folder %s: %w", dir, err)
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || !protocol.ValidPluginName(name) || seen[name] {
				continue
			}
			path := filepath.Join(dir, e.Name())
			fi, err := os.Stat(path) // follows a symbolic link
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			seen[name] = true
			out = append(out, binary{name: name, path: path})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// hashFile returns the hex SHA-256 of what is left to read in f.
func hashFile(f io.Reader) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
