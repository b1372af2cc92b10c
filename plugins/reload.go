package plugins

import (
	"context"
	"errors"
	"os"
	"slices"
	"time"
)

// DefaultMaxRetryBackoff bounds Options.RetryBackoff's doubling.
const DefaultMaxRetryBackoff = time.Minute

// launchEntry starts the entry's binary (see launch), unless its last
// start failed less than its backoff ago (Options.RetryBackoff): then it
// fails at once with that failure. The caller holds e.mu.
func (h *Host) launchEntry(ctx context.Context, e *entry, trust bool) (*process, error) {
	now := h.now()
	if e.failed != nil && now.Before(e.retryAt) {
		return nil, e.failed
	}
	p, err := h.launch(ctx, e.bin, trust)
	if h.opts.OnStart != nil {
		h.opts.OnStart(e.bin.name, err)
	}
	if err != nil {
		if h.opts.RetryBackoff > 0 && ctx.Err() == nil {
			limit := h.opts.MaxRetryBackoff
			if limit <= 0 {
				limit = DefaultMaxRetryBackoff
			}
			e.backoff = min(max(2*e.backoff, h.opts.RetryBackoff), limit)
			e.failed, e.retryAt = err, now.Add(e.backoff)
		}
		return nil, err
	}
	e.failed, e.backoff = nil, 0
	return p, nil
}

// binaryID is the identity of the file at path (zero when unknown).
func binaryID(path string) fileID {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}
	}
	id, _ := identity(fi)
	return id
}

// Reload picks up, without stopping the host, a changed lock file and
// binaries changed, added or removed in the folders. A plugin whose
// binary or pin changed is verified against the new lock first: when it
// passes, its process is retired (it ends once its calls in flight end)
// and the next use starts the new binary; when it fails, its process goes
// on with the binary it verified before, and the error names it (no new
// process of that binary will start). It returns the plugins it
// switched, and the problems it found.
func (h *Host) Reload() (switched []string, err error) {
	lock, err := ReadLock(h.opts.LockFile)
	if err != nil {
		return nil, err
	}
	found, err := discover(h.opts.Folders)
	if err != nil {
		return nil, err
	}
	if _, err := h.scan(); err != nil {
		return nil, err
	}
	// What changed, read under the lock; verified outside it (hashing a
	// binary takes time); applied under it.
	type change struct {
		bin binary
		id  fileID
		e   *entry // nil: a new plugin
	}
	h.mu.Lock()
	old := h.lock
	var changes []change
	seen := map[string]bool{}
	for _, b := range found {
		seen[b.name] = true
		id := binaryID(b.path)
		e, ok := h.entries[b.name]
		switch {
		case !ok:
			changes = append(changes, change{bin: b, id: id})
		case e.bin != b || e.id != id || old.Pins[b.name] != lock.Pins[b.name]:
			changes = append(changes, change{bin: b, id: id, e: e})
		}
	}
	var gone []string
	for name := range h.entries {
		if !seen[name] {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone) // logged: in a fixed order
	h.mu.Unlock()

	var problems []error
	verified := changes[:0]
	for _, c := range changes {
		if c.e != nil {
			sum, err := h.sumPath(c.bin, false)
			if err == nil {
				err = h.checkPinIn(lock, c.bin, sum)
			}
			if err != nil {
				problems = append(problems, err)
				continue
			}
		}
		verified = append(verified, c)
	}

	// Entries are locked after the host, never while holding it (a call
	// holds its entry's lock, then the host's).
	var swap []change
	var drop []*entry
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errClosed
	}
	h.lock, h.found = lock, found
	for _, c := range verified {
		switched = append(switched, c.bin.name)
		if c.e == nil {
			h.entries[c.bin.name] = &entry{bin: c.bin, id: c.id}
		} else {
			swap = append(swap, c)
		}
	}
	for _, name := range gone {
		drop = append(drop, h.entries[name])
		delete(h.entries, name)
		switched = append(switched, name)
	}
	h.mu.Unlock()
	var retire []*process
	for _, c := range swap {
		e := c.e
		e.mu.Lock()
		if e.proc != nil {
			retire = append(retire, e.proc)
		}
		e.bin, e.id, e.proc, e.desc, e.failed, e.backoff = c.bin, c.id, nil, nil, nil, 0
		e.mu.Unlock()
	}
	for _, e := range drop {
		e.mu.Lock()
		if e.proc != nil {
			retire = append(retire, e.proc)
		}
		e.proc = nil
		e.mu.Unlock()
	}
	for _, p := range retire {
		go p.retire()
	}
	return switched, errors.Join(problems...)
}

// retire stops a process once no call is in flight on it (at most
// retireWait later).
func (p *process) retire() {
	deadline := time.Now().Add(retireWait)
	for time.Now().Before(deadline) && p.stderr.inFlight() > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	p.kill()
}

const retireWait = 10 * time.Minute

func (s *stderrLines) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}
