package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// Concurrency keys (the runbook's concurrency.key, SPEC section 1: "runs
// sharing a key never overlap; later ones queue") are enforced here, in
// Start, so that every trigger obeys them: the CLI, the API, schedules and
// webhooks. A new run's key is evaluated over its inputs and vars and
// recorded in run.started's origin (journal.Origin.Concurrency). Before
// it starts, the run waits while an active run of the same runbook holds
// the same key: running (its lease is live) or waiting for an approval.
// An interrupted run (nothing executes it) holds no key: it would
// otherwise block its runbook until a person resumes or cancels it.
//
// Checking the holders and recording run.started are one step under a
// short lease named for the runbook and key (keyLease), taken in the store
// like a run's lease: two processes starting runs with the same key at the
// same instant do not both pass. The lease is released once run.started
// is recorded, and expires after LeaseTTL if the process dies.

// ErrQueueCancelled: the context ended while the run waited for its
// concurrency key; nothing was recorded.
var ErrQueueCancelled = errors.New("runs: stopped while waiting for the concurrency key")

// keyLease is the lease that guards the start of runs of a runbook with a
// key: a store-safe name (no slash), the same in every process.
func keyLease(runbook, key string) string {
	sum := sha256.Sum256([]byte(runbook + "\x00" + key))
	return "concurrency~" + runbook + "~" + hex.EncodeToString(sum[:12])
}

// awaitKey waits until no active run of the runbook holds key, then holds
// the key's lease: release releases it (once run.started is recorded).
// queued is called each time the run starts waiting for another holder.
func (s *Service) awaitKey(ctx context.Context, runbook, key string, queued func(holder string)) (release func(), err error) {
	holder := s.holder()
	name := keyLease(runbook, key)
	last := ""
	for {
		now := s.cfg.Clock.Now()
		l := journal.Lease{RunID: name, Holder: holder, Host: s.cfg.Host, PID: s.cfg.PID,
			Acquired: now, Heartbeat: now, Expires: now.Add(s.cfg.LeaseTTL)}
		err := s.cfg.Store.AcquireLease(ctx, l)
		var busy *journal.BusyError
		switch {
		case errors.As(err, &busy):
			// Another start of this key is checking: look again soon.
		case err != nil:
			return nil, storeErr(err)
		default:
			release := func() { _ = s.cfg.Store.ReleaseLease(context.WithoutCancel(ctx), name, holder) }
			id, err := s.keyHolder(ctx, runbook, key)
			if err != nil {
				release()
				return nil, err
			}
			if id == "" {
				return release, nil
			}
			release()
			if id != last && queued != nil {
				queued(id)
			}
			last = id
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrQueueCancelled, ctx.Err())
		case <-s.cfg.Clock.After(s.cfg.Heartbeat):
		}
	}
}

// keyHolder returns an active run of the runbook whose key is key, or "".
func (s *Service) keyHolder(ctx context.Context, runbook, key string) (string, error) {
	found := ""
	for _, st := range []engine.Status{engine.StatusRunning, engine.StatusWaiting} {
		err := s.List(ctx, Filter{Runbook: runbook, Status: string(st)}, func(r Summary) error {
			if r.Parent != "" {
				return nil
			}
			k, err := s.runKey(ctx, r.ID)
			if err != nil {
				return err
			}
			if k == key {
				found = r.ID
				return errListed
			}
			return nil
		})
		if err != nil && err != errListed {
			return "", err
		}
		if found != "" {
			return found, nil
		}
	}
	return "", nil
}

// runKey reads the concurrency key run.started recorded for a run.
func (s *Service) runKey(ctx context.Context, id string) (string, error) {
	key := ""
	err := s.cfg.Store.Records(ctx, id, time.Time{}, func(rec journal.Record) error {
		if rec.Type == string(engine.RunStarted) {
			var d journal.Data
			if err := json.Unmarshal(rec.Data, &d); err != nil {
				return err
			}
			if d.Origin != nil {
				key = d.Origin.Concurrency
			}
		}
		return errListed // the first record is run.started
	})
	if err != nil && err != errListed {
		return "", storeErr(err)
	}
	return key, nil
}
