//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// probeFile serializes lock attempts and probes between processes: a
// probe takes a lease's flock for an instant, and without it a lock
// attempt at that instant would see the flock as held. No run id starts
// with ".".
const probeFile = ".probe"

// flocks are the flocks that back this host's leases (see lease.go): one
// file per lease under home/locks, named by its key (lockKey), exclusively
// locked by the process whose execution holds the lease.
type flocks struct {
	dir  string
	mu   sync.Mutex
	mine map[string]*heldLock // by key: the flocks this process holds
}

type heldLock struct {
	holder string
	f      *os.File
}

func newFlocks(dir string) *flocks { return &flocks{dir: dir, mine: map[string]*heldLock{}} }

// lock takes key's flock for holder; false when another process, or
// another handle or execution in this one, holds it. Taking it again for
// the same holder is true.
func (k *flocks) lock(key, holder string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if h := k.mine[key]; h != nil {
		return h.holder == holder, nil
	}
	path := filepath.Join(k.dir, key+".lock")
	unprobe, err := k.probe()
	if err != nil {
		return false, err
	}
	defer unprobe()
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return false, fmt.Errorf("journal: locking lease %s: %w", key, err)
		}
		if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return false, nil
			}
			return false, fmt.Errorf("journal: locking lease %s: %w", key, err)
		}
		// An unlock may have removed the file between open and flock:
		// then the lock is on a file nobody else will open.
		if same, err := isFile(f, path); err != nil || !same {
			f.Close()
			if err != nil {
				return false, fmt.Errorf("journal: locking lease %s: %w", key, err)
			}
			continue
		}
		k.mine[key] = &heldLock{holder: holder, f: f}
		return true, nil
	}
}

// unlock releases key's flock if holder holds it.
func (k *flocks) unlock(key, holder string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	h := k.mine[key]
	if h == nil || h.holder != holder {
		return
	}
	delete(k.mine, key)
	if unprobe, err := k.probe(); err == nil {
		defer unprobe()
	}
	os.Remove(filepath.Join(k.dir, key+".lock"))
	flock(h.f, syscall.LOCK_UN)
	h.f.Close()
}

// held says whether a process (this one included) holds key's flock.
func (k *flocks) held(key string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mine[key] != nil {
		return true, nil
	}
	unprobe, err := k.probe()
	if err != nil {
		return false, err
	}
	defer unprobe()
	f, err := os.Open(filepath.Join(k.dir, key+".lock"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: probing lease %s: %w", key, err)
	}
	defer f.Close()
	err = flock(f, syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: probing lease %s: %w", key, err)
	}
	flock(f, syscall.LOCK_UN)
	return false, nil
}

// removeFree removes key's file unless a process holds its flock: the
// flock of a lease taken over from a holder that died.
func (k *flocks) removeFree(key string) {
	if held, err := k.held(key); err == nil && !held {
		os.Remove(filepath.Join(k.dir, key+".lock"))
	}
}

// closeAll releases every flock this process holds.
func (k *flocks) closeAll() {
	k.mu.Lock()
	held := k.mine
	k.mine = map[string]*heldLock{}
	k.mu.Unlock()
	for key, h := range held {
		os.Remove(filepath.Join(k.dir, key+".lock"))
		flock(h.f, syscall.LOCK_UN)
		h.f.Close()
	}
}

// probe takes the exclusive lock of the probe file, waiting for it; it is
// only ever held for an instant.
func (k *flocks) probe() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(k.dir, probeFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := flock(f, syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	return func() {
		flock(f, syscall.LOCK_UN)
		f.Close()
	}, nil
}

// flock is syscall.Flock, retried when a signal interrupts it.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// isFile says whether the open file f is still the file at path.
func isFile(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}
