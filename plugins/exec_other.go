//go:build !linux

package plugins

import (
	"fmt"
	"os"
	"syscall"
)

// execPath is the binary's path: without /proc, the check and the start
// are two steps (see docs/plugins.md).
func execPath(path string, _ int) string { return path }

func sysProcAttr() *syscall.SysProcAttr { return nil }

// changed reports whether a file was written between two stats.
func changed(a, b os.FileInfo) bool {
	return a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime())
}

// statKey identifies a version of a file without reading it. It only finds
// a cached description; the lock check at every start hashes the bytes.
func statKey(fi os.FileInfo) string {
	return fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano())
}
