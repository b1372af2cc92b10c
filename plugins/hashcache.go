package plugins

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The verified-hash cache spares reading a whole plugin binary (SHA-256 of
// 15 MB: about 10 ms) at every start to check it against the lock file.
// After a full hash, the host records the binary's identity (device, inode,
// size, modification and change times) with the hash; a later start whose
// binary has the same identity takes the recorded hash instead of reading
// the file. Nothing else in a record is trusted: a record whose identity
// differs, or that cannot be read or parsed, means a full hash.
//
// Why the identity is enough. To run other bytes under a recorded identity,
// an attacker who can write the binary must change its content while
// keeping all five fields:
//   - Writing the file in place sets its modification and change times to
//     the current time. The modification time can be set back (touch, utimes),
//     but that sets the change time to the current time again: the change
//     time (ctime) cannot be set by an unprivileged user, only by the kernel,
//     from its clock (moving the clock needs root, who is beyond defending).
//   - Renaming or copying another file over the path gives a new inode (or a
//     reused inode number with a new ctime) and so another identity.
//   - A write in the same clock tick as the change the record saw would keep
//     ctime. That is why a hash is recorded only for a file whose
//     times are older than settle when the hash starts: any write after that
//     moment has a later ctime (the same reasoning as git's "racy git").
//
// The launch also opens the binary once, looks it up (or hashes it) through
// that descriptor and executes that descriptor (see launch), and stats it
// again after the start: what was looked up is what ran.
//
// The records live in the host's CacheDir (HOME/cache/plugins): files
// 0600 in a folder 0700, replaced atomically. A record is read only from a
// regular file of this user in a folder of this user, neither writable by
// anyone else; otherwise it is ignored as foreign. Whoever can write that
// folder is this user (or root), who can also write the lock file in the
// same home. A file system whose server reports made-up times (NFS, FUSE)
// can also serve one content to the hash and another to exec, with or
// without this cache.

// settle is how old a binary's times must be, when its hash starts, for the
// hash to be recorded: more than the timestamp granularity of the file
// systems plugins live on (one clock tick; a second or two on some).
const settle = 2 * time.Second

// hashCacheVersion is the format of a record; another version is ignored.
const hashCacheVersion = 1

// fileID identifies a version of a file without reading it (see identity).
type fileID struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Ctime int64  `json:"ctime_ns"`
}

// hashRecord is one record of the verified-hash cache.
type hashRecord struct {
	Version int    `json:"v"`
	ID      fileID `json:"id"`
	SHA256  string `json:"sha256"`
}

func (h *Host) hashCachePath(name string) string {
	return filepath.Join(h.opts.CacheDir, name+".sha256.json")
}

// sum returns the hex SHA-256 of the plugin binary open as f, whose stat
// is fi: the recorded hash when fi's identity matches the record (unless
// fresh), otherwise the hash of every byte, recorded when the file stayed
// the same while it was read.
func (h *Host) sum(name string, f *os.File, fi os.FileInfo, fresh bool) (string, error) {
	id, ok := identity(fi)
	if ok && !fresh {
		if rec := h.readHashCache(name); rec != nil && rec.ID == id {
			return rec.SHA256, nil
		}
	}
	start := h.now()
	sum, err := h.hash(f)
	if err != nil {
		return "", err
	}
	after, err := f.Stat()
	if err != nil {
		return "", err
	}
	if ok && !changed(fi, after) && settled(id, start) {
		h.writeHashCache(name, hashRecord{Version: hashCacheVersion, ID: id, SHA256: sum})
	}
	return sum, nil
}

// sumPath is sum for the binary at b.path.
func (h *Host) sumPath(b binary, fresh bool) (string, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	return h.sum(b.name, f, fi, fresh)
}

// hash reads what is left of f and returns its hex SHA-256; hashes counts
// the binaries read in full.
func (h *Host) hash(f io.Reader) (string, error) {
	h.hashes.Add(1)
	return hashFile(f)
}

// settled reports whether a file's times are older than settle at start:
// a write after start would give it another change time.
func settled(id fileID, start time.Time) bool {
	limit := start.Add(-settle).UnixNano()
	return id.Mtime < limit && id.Ctime < limit
}

// readHashCache returns the plugin's record, or nil when there is none
// usable: missing, foreign, corrupted or of another format.
func (h *Host) readHashCache(name string) *hashRecord {
	b := h.readCacheFile(h.hashCachePath(name))
	if b == nil {
		return nil
	}
	var r hashRecord
	if json.Unmarshal(b, &r) != nil || r.Version != hashCacheVersion || !isSHA256Hex(r.SHA256) {
		return nil
	}
	return &r
}

func (h *Host) writeHashCache(name string, r hashRecord) {
	if b, err := json.Marshal(r); err == nil {
		h.writeCacheFile(h.hashCachePath(name), b)
	}
}

// maxCacheFile bounds what is read of a cache file: descriptions are a few
// KiB, a record a few hundred bytes.
const maxCacheFile = 4 << 20

// readCacheFile returns the content of a cache file of this user, in the
// cache folder of this user, neither writable by others; nil otherwise. The
// file itself is not read through a symbolic link (the folder may be one:
// only this user can have put it there).
func (h *Host) readCacheFile(path string) []byte {
	if h.opts.CacheDir == "" {
		return nil
	}
	if dir, err := os.Stat(h.opts.CacheDir); err != nil || !dir.IsDir() || !private(dir) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !private(fi) || fi.Size() > maxCacheFile {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCacheFile))
	if err != nil {
		return nil
	}
	return b
}

// writeCacheFile replaces a cache file atomically (a temporary file, 0600,
// renamed over it), creating the cache folder 0700. A cache that cannot be
// written only costs a hash or a start next time.
func (h *Host) writeCacheFile(path string, b []byte) {
	if h.opts.CacheDir == "" || os.MkdirAll(h.opts.CacheDir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(h.opts.CacheDir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr == nil && cerr == nil {
		_ = os.Rename(tmp.Name(), path)
	}
}
