package plugins

import (
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

// identity is what identifies a version of a file without reading it:
// device, inode, size, modification and change times (see hashcache.go for
// why that is enough to trust a hash recorded under it).
func identity(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: fi.Size(),
		Mtime: fi.ModTime().UnixNano(), Ctime: st.Ctim.Nano()}, true
}

// private reports whether a cache file or folder belongs to this user and
// no one else can write it.
func private(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid() && fi.Mode().Perm()&0o022 == 0
}

// noFollow opens a cache file without following a symbolic link, and
// without blocking on a FIFO planted in its place.
const noFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
