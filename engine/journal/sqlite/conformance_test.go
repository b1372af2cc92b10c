package sqlite

import (
	"testing"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/journaltest"
)

// The SQLite store passes the suite every store passes: a fresh store is
// a new home folder, another handle on it a second Open of that folder.
func TestConformance(t *testing.T) {
	journaltest.Run(t, journaltest.Harness{
		New: func(t *testing.T) journal.Store { return open(t, t.TempDir()) },
		Reopen: func(t *testing.T, s journal.Store) journal.Store {
			return open(t, s.(*Store).home)
		},
	})
}
