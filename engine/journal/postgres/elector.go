package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotLeader is what Elector.IsLeader says to a process that is not
// the leader.
var ErrNotLeader = errors.New("journal: another process leads")

// electTimeout bounds one IsLeader: gocron asks under the job's context,
// which never ends while the job is scheduled.
const electTimeout = 5 * time.Second

// Elector elects one leader among the processes sharing the store (the
// replicas of steward serve): the one that holds a session advisory lock
// on a connection of its own. It is a gocron.Elector: gocron asks it
// before each fire, and only the leader fires.
//
// The lock lives as long as its connection: PostgreSQL releases it when
// the leader's process dies (its connection closes) and another process
// takes it at its next IsLeader. A leader checks its connection at every
// IsLeader (a ping) and, when it fails, reports that it is not the
// leader and drops the connection, and with it the lock; it asks again
// on a new connection at its next IsLeader. A leader whose connection
// broke without its knowing may overlap a new one until its next
// IsLeader: what must happen once must still be a unique row (schedules
// fire under a journal key per slot).
//
// The lock's key is the name hashed with the schema the store is in:
// stores in two schemas of one database elect separately (advisory
// locks are per database).
type Elector struct {
	cfg  *pgx.ConnConfig
	name string
	addr string
	log  *slog.Logger

	mu     sync.Mutex
	conn   *pgx.Conn // nil until connected, and after a failure
	leader bool
	closed bool
}

// Elector returns an elector of the leader named name (e.g. "scheduler")
// among the processes on this store. log, when not nil, is told when
// this process becomes the leader and when it stops being it. Close it
// to step down.
func (s *Store) Elector(name string, log *slog.Logger) *Elector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Elector{cfg: s.pool.Config().ConnConfig, name: name, addr: s.addr, log: log}
}

// IsLeader returns nil when this process holds the lock (taking it when
// it is free), ErrNotLeader when another does, and the error when the
// database cannot be asked.
func (e *Elector) IsLeader(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, electTimeout)
	defer cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrNotLeader
	}
	if e.conn == nil {
		conn, err := pgx.ConnectConfig(ctx, e.cfg)
		if err != nil {
			return fmt.Errorf("journal: electing the %s leader: cannot reach PostgreSQL at %s: %w", e.name, e.addr, err)
		}
		e.conn = conn
	}
	if e.leader {
		if err := e.conn.Ping(ctx); err != nil {
			e.drop()
			e.log.Warn("no longer the leader: its connection failed", "leader", e.name, "error", err)
			return fmt.Errorf("journal: the %s leader's connection failed: %w", e.name, err)
		}
		return nil
	}
	var got bool
	err := e.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+leaderLock+`)`, leaderKey(e.name)).Scan(&got)
	if err != nil {
		e.drop()
		return fmt.Errorf("journal: electing the %s leader: %w", e.name, err)
	}
	if !got {
		return ErrNotLeader
	}
	e.leader = true
	e.log.Info("this process is now the leader", "leader", e.name)
	return nil
}

// drop closes the connection, which releases the lock if it was held.
// leaderLock is the advisory lock's key of the leader named $1: the name
// hashed with the store's schema.
const leaderLock = `hashtextextended($1 || '/' || current_schema(), 0)`

func leaderKey(name string) string { return "steward/leader/" + name }

func (e *Elector) drop() {
	// As long as an IsLeader: an unlock cut short by a busy server (a
	// second was too short on a loaded machine) leaves the lock held
	// until the backend exits, and hands the lead over late. A dead
	// connection fails at once, without waiting.
	ctx, cancel := context.WithTimeout(context.Background(), electTimeout)
	defer cancel()
	if e.leader {
		// Unlocked now: closing the connection releases the lock only
		// once the server's backend has exited, after Close returns, and
		// another process asking at once would still find it held. A
		// dead connection fails here, and its lock goes with it.
		_, _ = e.conn.Exec(ctx, `SELECT pg_advisory_unlock(`+leaderLock+`)`, leaderKey(e.name))
	}
	e.conn.Close(ctx)
	e.conn, e.leader = nil, false
}

// Close steps down: it releases the lock (closing the connection), and
// IsLeader says ErrNotLeader from then on.
func (e *Elector) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil {
		if e.leader {
			e.log.Info("stepping down as the leader", "leader", e.name)
		}
		e.drop()
	}
	e.closed = true
	return nil
}
