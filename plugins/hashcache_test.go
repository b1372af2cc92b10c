package plugins

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// settledClock makes a host see every binary as settled: its clock runs
// ahead by more than settle, as if the binary had been installed a while
// ago (tests install their binaries just before they start them).
func settledClock(h *Host) *Host {
	h.now = func() time.Time { return time.Now().Add(settle + time.Minute) }
	return h
}

// rerun is the host of the next steward command on the same home: same
// folders, lock file, cache and clock, nothing in memory.
func rerun(t testing.TB, h *Host) *Host {
	t.Helper()
	return reopen(t, h.opts, h.now)
}

func reopen(t testing.TB, opts Options, now func() time.Time) *Host {
	t.Helper()
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	n.now = now
	return n
}

func binPath(h *Host, name string) string {
	return filepath.Join(h.opts.Folders[0], Prefix+name)
}

func TestAnUnchangedBinaryIsHashedOnce(t *testing.T) {
	h := settledClock(install(t, faultyBin, Options{CacheDir: t.TempDir()}, "faulty"))
	pidOf(t, h, "first run")
	// Described (one full hash, recorded), then started: the start finds
	// the binary unchanged since that hash.
	if n := h.hashes.Load(); n != 1 {
		t.Errorf("first run hashed the binary %d times, want 1", n)
	}
	h.Close()
	next := rerun(t, h)
	pidOf(t, next, "second run")
	if n := next.hashes.Load(); n != 0 {
		t.Errorf("second run hashed the unchanged binary %d times, want 0", n)
	}
}

func TestTheCacheFolderIsCreatedPrivate(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "home", "cache", "plugins")
	h := settledClock(install(t, faultyBin, Options{CacheDir: cache}, "faulty"))
	pidOf(t, h, "run")
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("cache folder is %v, want 0700", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if fi, _ := e.Info(); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	// No temporary file is left behind.
	if strings.Join(names, " ") != "faulty.json faulty.sha256.json" {
		t.Errorf("cache holds %v", names)
	}
}

func TestABinaryWrittenJustNowIsHashedAtEveryStart(t *testing.T) {
	// The copy made by install is too recent to be recorded: a write in
	// the same clock tick would keep its times. The host's clock stays at
	// the copy's time: on a loaded machine the real one could pass settle
	// before the start, and the binary would be settled by then.
	h := install(t, faultyBin, Options{CacheDir: t.TempDir()}, "faulty")
	fi, err := os.Stat(filepath.Join(h.opts.Folders[0], Prefix+"faulty"))
	if err != nil {
		t.Fatal(err)
	}
	h.now = func() time.Time { return fi.ModTime() }
	pidOf(t, h, "run")
	if n := h.hashes.Load(); n != 2 {
		t.Errorf("hashed %d times, want 2 (describe and start)", n)
	}
	if _, err := os.Stat(h.hashCachePath("faulty")); !os.IsNotExist(err) {
		t.Errorf("a binary changed just now was recorded (%v)", err)
	}
}

func TestAChangedBinaryWithTheSameSizeAndTimeIsCaught(t *testing.T) {
	h := settledClock(install(t, faultyBin, Options{CacheDir: t.TempDir()}, "faulty"))
	pidOf(t, h, "recorded")
	h.Close()
	path := binPath(h, "faulty")
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite bytes in place (same inode, same size), then set the
	// modification time back: only the change time tells.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("not the pinned bytes"), before.Size()/2); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, time.Time{}, before.ModTime()); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the test did not keep the inode, size and modification time")
	}
	next := rerun(t, h)
	wantCode(t, loadErr(t, next, "faulty"), CodeStart, false, "changed since it was locked", "it was not started")
	if n := next.hashes.Load(); n != 1 {
		t.Errorf("hashed %d times, want 1", n)
	}
}

func TestAnUntrustworthyRecordIsIgnored(t *testing.T) {
	h := settledClock(install(t, faultyBin, Options{CacheDir: t.TempDir()}, "faulty"))
	pidOf(t, h, "recorded")
	h.Close()
	record := h.hashCachePath("faulty")
	good, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	// The binary's own identity with another hash: trusted, the start is
	// refused without reading the binary (which shows that a record is
	// used); each case below must not be trusted.
	var r hashRecord
	if err := json.Unmarshal(good, &r); err != nil {
		t.Fatal(err)
	}
	r.SHA256 = strings.Repeat("b", 64)
	lying := marshal(t, r)
	notHex, otherFormat := r, r
	notHex.SHA256 = strings.Repeat("B", 64)
	otherFormat.Version = hashCacheVersion + 1
	write := func(b []byte, mode os.FileMode) {
		t.Helper()
		os.Remove(record)
		if err := os.WriteFile(record, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(record, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	write(lying, 0o600)
	trusted := rerun(t, h)
	wantCode(t, loadErr(t, trusted, "faulty"), CodeStart, false, "changed since it was locked")
	if n := trusted.hashes.Load(); n != 0 {
		t.Fatalf("the record was not used (hashed %d times)", n)
	}

	for _, tc := range []struct {
		name  string
		setup func()
	}{
		{"corrupted", func() { write(lying[:len(lying)-2], 0o600) }},
		{"not lower-case hex", func() { write(marshal(t, notHex), 0o600) }},
		{"of another format", func() { write(marshal(t, otherFormat), 0o600) }},
		{"writable by others", func() { write(lying, 0o666) }},
		{"a symbolic link", func() {
			target := filepath.Join(t.TempDir(), "record")
			if err := os.WriteFile(target, lying, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Remove(record)
			if err := os.Symlink(target, record); err != nil {
				t.Fatal(err)
			}
		}},
		{"in a folder writable by others", func() {
			write(lying, 0o600)
			if err := os.Chmod(h.opts.CacheDir, 0o777); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(h.opts.CacheDir, 0o700) })
		}},
		{"of another user", func() {
			write(lying, 0o600)
			if err := os.Chown(record, 65534, 65534); err != nil {
				t.Skip("cannot give the record to another user:", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Chmod(h.opts.CacheDir, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.setup()
			next := rerun(t, h)
			if _, err := next.Load("faulty"); err != nil {
				t.Fatalf("the record was trusted: %v", err)
			}
			if next.hashes.Load() == 0 {
				t.Error("the binary was not hashed")
			}
		})
	}
}

func TestACopiedHomeIsHashedOnceThenNotAgain(t *testing.T) {
	h := settledClock(install(t, faultyBin, Options{CacheDir: t.TempDir()}, "faulty"))
	pidOf(t, h, "original home")
	h.Close()
	opts := copyHome(t, h.opts)
	first := reopen(t, opts, h.now)
	act(t, first, "faulty.ok")
	if first.entries["faulty"].proc != nil {
		t.Error("the copied description was not used: the plugin was started to describe it")
	}
	pidOf(t, first, "copied home, first run")
	if n := first.hashes.Load(); n != 1 {
		t.Errorf("first run in the copied home hashed %d times, want 1", n)
	}
	first.Close()
	second := rerun(t, first)
	pidOf(t, second, "copied home, second run")
	if n := second.hashes.Load(); n != 0 {
		t.Errorf("second run in the copied home hashed %d times, want 0: the record was not rewritten", n)
	}
}

func TestAStaleDescriptionIsReplaced(t *testing.T) {
	h := settledClock(install(t, faultyBin, Options{CacheDir: t.TempDir()}, "faulty"))
	sum, err := hashPath(binPath(h, "faulty"))
	if err != nil {
		t.Fatal(err)
	}
	// The description of an older build, with the stat key older versions
	// of the cache kept.
	old := `{"stat":"1:2:3.4:5:6","sha256":"` + strings.Repeat("c", 64) + `","description":{"name":"faulty","version":"0.0.1","protocol":1,"actions":[]}}`
	if err := os.WriteFile(h.cachePath("faulty"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	a := act(t, h, "faulty.ok") // the old description has no such action
	if h.entries["faulty"].proc == nil {
		t.Error("the stale description was used")
	}
	if _, _, err := call(context.Background(), a, map[string]any{"value": "x"}); err != nil {
		t.Fatal(err)
	}
	c := h.readCache("faulty")
	if c == nil || c.SHA256 != sum || len(c.Description.Actions) == 0 {
		t.Fatalf("the description cache was not rewritten: %+v", c)
	}
	h.Close()
	next := rerun(t, h)
	act(t, next, "faulty.ok")
	if next.entries["faulty"].proc != nil {
		t.Error("the rewritten description was not used")
	}
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyHome copies the plugin folder and the cache of opts into another home,
// as a user moving to a new machine would: other inodes and times, the same
// bytes and modes.
func copyHome(t testing.TB, from Options) Options {
	t.Helper()
	home := t.TempDir()
	opts := from
	opts.Folders = []string{filepath.Join(home, "plugins")}
	opts.CacheDir = filepath.Join(home, "cache")
	for from, to := range map[string]string{from.Folders[0]: opts.Folders[0], from.CacheDir: opts.CacheDir} {
		if err := os.CopyFS(to, os.DirFS(from)); err != nil {
			t.Fatal(err)
		}
		if err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(from, path)
			return os.Chmod(filepath.Join(to, rel), fi.Mode().Perm())
		}); err != nil {
			t.Fatal(err)
		}
	}
	return opts
}

func TestLockingReadsEveryByte(t *testing.T) {
	h := settledClock(install(t, faultyBin, Options{CacheDir: t.TempDir()}, "faulty"))
	pidOf(t, h, "recorded")
	h.hashes.Store(0)
	changes, err := h.WriteLock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Change != "unchanged" {
		t.Errorf("changes: %+v", changes)
	}
	// Pinning is trusting the bytes: the record is not enough.
	if n := h.hashes.Load(); n != 1 {
		t.Errorf("locking hashed %d times, want 1", n)
	}
}
