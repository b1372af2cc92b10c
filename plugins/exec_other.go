//go:build !linux

package plugins

import (
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

// identity is not available without inode and change time: every start
// hashes the binary.
func identity(os.FileInfo) (fileID, bool) { return fileID{}, false }

// private is unknown here: the caches are not read.
func private(os.FileInfo) bool { return false }

// noFollow: no cache file is opened here (private is false).
const noFollow = 0
