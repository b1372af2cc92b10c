//go:build unix

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/stewardhq/steward/engine/journal"
)

// probeFile serializes lock attempts and probes between processes: a
// probe takes the run's lock for an instant, and without it an Acquire
// at that instant would see the run as busy. No run id starts with ".".
const probeFile = ".probe"

// Acquire takes the exclusive flock of home/locks/RUN_ID.lock for this
// process; the kernel releases it when the process dies. It returns
// journal.ErrRunBusy when another process (or another Acquire in this
// one) holds it. release unlocks and removes the file.
func (s *Store) Acquire(ctx context.Context, runID string) (func(), error) {
	path, err := s.lockPath(runID)
	if err != nil {
		return nil, err
	}
	unprobe, err := s.probe()
	if err != nil {
		return nil, err
	}
	defer unprobe()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("journal: locking run %s: %w", runID, err)
		}
		if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, journal.ErrRunBusy
			}
			return nil, fmt.Errorf("journal: locking run %s: %w", runID, err)
		}
		// A release may have removed the file between open and flock:
		// then the lock is on a file nobody else will open.
		if same, err := isFile(f, path); err != nil || !same {
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("journal: locking run %s: %w", runID, err)
			}
			continue
		}
		return sync.OnceFunc(func() {
			if unprobe, err := s.probe(); err == nil {
				defer unprobe()
			}
			os.Remove(path)
			flock(f, syscall.LOCK_UN)
			f.Close()
		}), nil
	}
}

// Live says whether a process holds the run's lock (see Acquire).
func (s *Store) Live(ctx context.Context, runID string) (bool, error) {
	path, err := s.lockPath(runID)
	if err != nil {
		return false, err
	}
	unprobe, err := s.probe()
	if err != nil {
		return false, err
	}
	defer unprobe()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: probing run %s: %w", runID, err)
	}
	defer f.Close()
	err = flock(f, syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: probing run %s: %w", runID, err)
	}
	flock(f, syscall.LOCK_UN)
	return false, nil
}

func (s *Store) lockPath(runID string) (string, error) {
	if runID == "" || strings.HasPrefix(runID, ".") || strings.ContainsAny(runID, "/\\\x00") {
		return "", fmt.Errorf("journal: %q is not a valid run id", runID)
	}
	return filepath.Join(s.locks, runID+".lock"), nil
}

// probe takes the exclusive lock of the probe file, waiting for it; it is
// only ever held for an instant.
func (s *Store) probe() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.locks, probeFile), os.O_RDWR|os.O_CREATE, 0o600)
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
