package plugins

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// execPath is the path that executes the file open as descriptor fd in the
// child: the very bytes that were hashed, whatever is renamed over path.
func execPath(_ string, fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// sysProcAttr makes the kernel kill a plugin when Steward dies, for plugins
// that do not watch their lifeline (those not built with the SDK).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// changed reports whether a file was written or replaced between two stats.
func changed(a, b os.FileInfo) bool {
	if a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime()) {
		return true
	}
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && (sa.Ctim != sb.Ctim || sa.Ino != sb.Ino)
}

// statKey identifies a version of a file without reading it: size, times
// and inode. It only finds a cached description; the lock check at every
// start hashes the bytes.
func statKey(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d:%d.%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(), st.Ctim.Sec, st.Ctim.Nsec, st.Ino, st.Dev)
	}
	return fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano())
}
