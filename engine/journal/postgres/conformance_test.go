package postgres

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/journaltest"
	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens the store at url for the test.
func open(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The PostgreSQL store passes the suite every store passes: a fresh store
// is a new schema of the test database, another handle on it a second
// Open of its URL (another pool of connections, as another replica's).
func TestConformance(t *testing.T) {
	journaltest.Run(t, journaltest.Harness{
		New: func(t *testing.T) journal.Store { return open(t, pgtest.URL(t)) },
		Reopen: func(t *testing.T, s journal.Store) journal.Store {
			return open(t, s.(*Store).url)
		},
	})
}
