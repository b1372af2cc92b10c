package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
)

// TestElector: of two processes on one store, one leads; when its
// connection is killed (as when its process dies), it says so at its
// next IsLeader, and the other takes the lead; when the leader steps
// down, the other takes it; a store in another schema elects its own.
func TestElector(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a := open(t, url).Elector("scheduler", nil)
	b := open(t, url).Elector("scheduler", nil)
	t.Cleanup(func() { a.Close(); b.Close() })

	if err := a.IsLeader(ctx); err != nil {
		t.Fatalf("the first to ask does not lead: %v", err)
	}
	if err := a.IsLeader(ctx); err != nil {
		t.Fatalf("the leader, asked again: %v", err)
	}
	if err := b.IsLeader(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("a second process leads too: %v", err)
	}
	other := open(t, pgtest.URL(t)).Elector("scheduler", nil)
	t.Cleanup(func() { other.Close() })
	if err := other.IsLeader(ctx); err != nil {
		t.Fatalf("the leader of another schema: %v", err)
	}

	// The leader's connection dies: the lock goes with it. The timeout
	// makes pg_terminate_backend wait until the backend has exited (and
	// so released its locks): without it, the old leader can read the
	// termination notice while its backend still holds the lock.
	var pid uint32
	a.mu.Lock()
	pid = a.conn.PgConn().PID()
	a.mu.Unlock()
	admin := open(t, url)
	var gone bool
	if err := admin.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1, 30000)`, int32(pid)).Scan(&gone); err != nil {
		t.Fatal(err)
	} else if !gone {
		t.Fatalf("backend %d still runs 30 s after it was terminated", pid)
	}
	if err := a.IsLeader(ctx); err == nil || errors.Is(err, ErrNotLeader) {
		t.Fatalf("a leader whose connection died: %v; want its connection's error", err)
	}
	if err := b.IsLeader(ctx); err != nil {
		t.Fatalf("the other process does not take the lead: %v", err)
	}
	if err := a.IsLeader(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("the old leader, on a new connection: %v", err)
	}

	// Stepping down hands the lead over.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.IsLeader(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("a closed elector: %v", err)
	}
	if err := a.IsLeader(ctx); err != nil {
		t.Fatalf("after the leader stepped down: %v", err)
	}
}
