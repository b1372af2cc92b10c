package sources

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// treeFS is a folder of a commit's tree as an fs.FS: what core.read_file
// reads for a pinned runbook. Files are the blobs read for the commit.
type treeFS struct {
	files map[string][]byte // relative slash paths
	when  time.Time         // the commit's time, as every file's
}

func (t *treeFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if b, ok := t.files[name]; ok {
		return &treeFile{Reader: bytes.NewReader(b), info: treeInfo{name: path.Base(name), size: int64(len(b)), when: t.when}}, nil
	}
	var entries []fs.DirEntry
	seen := map[string]bool{}
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	for p, b := range t.files {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		first, more, dir := strings.Cut(rest, "/")
		_ = more
		if seen[first] {
			continue
		}
		seen[first] = true
		info := treeInfo{name: first, size: int64(len(b)), when: t.when}
		if dir {
			info = treeInfo{name: first, dir: true, when: t.when}
		}
		entries = append(entries, fs.FileInfoToDirEntry(info))
	}
	if len(entries) == 0 && name != "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return &treeDir{info: treeInfo{name: path.Base(name), dir: true, when: t.when}, entries: entries}, nil
}

type treeFile struct {
	*bytes.Reader
	info treeInfo
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Close() error               { return nil }

type treeDir struct {
	info    treeInfo
	entries []fs.DirEntry
	off     int
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: fs.ErrInvalid}
}

func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}

type treeInfo struct {
	name string
	size int64
	dir  bool
	when time.Time
}

func (i treeInfo) Name() string       { return i.name }
func (i treeInfo) Size() int64        { return i.size }
func (i treeInfo) ModTime() time.Time { return i.when }
func (i treeInfo) IsDir() bool        { return i.dir }
func (i treeInfo) Sys() any           { return nil }
func (i treeInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
