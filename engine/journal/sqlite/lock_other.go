//go:build !unix

package sqlite

import (
	"context"
	"errors"
)

var errNoLocks = errors.New("journal: run locks need flock, which this system lacks")

// Acquire is not available on this system.
func (s *Store) Acquire(ctx context.Context, runID string) (func(), error) {
	return nil, errNoLocks
}

// Live is not available on this system.
func (s *Store) Live(ctx context.Context, runID string) (bool, error) {
	return false, errNoLocks
}
