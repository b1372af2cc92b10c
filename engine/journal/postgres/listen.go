package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Listen calls fn for each batch of records appended to the store, by
// any process, as "this run's records go up to seq", on a connection of
// its own, until ctx ends (it then returns nil) or the connection fails.
// Stores in other schemas of the database are not heard.
//
// Its first call is fn("", head): the head's seq once it listens. Every
// batch whose records come after head is then notified, in commit order
// (which is seq order); a caller that reads the journal up to head
// misses nothing. A notification may come for records the caller has
// already read. Summaries and sources written without records are not
// notified.
func (s *Store) Listen(ctx context.Context, fn func(runID string, seq int64)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return s.connectError(err)
	}
	defer conn.Close(context.Background())
	var ch string
	err = conn.QueryRow(ctx, `SELECT `+channel).Scan(&ch)
	if err == nil {
		_, err = conn.Exec(ctx, `LISTEN `+pgx.Identifier{ch}.Sanitize())
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("journal: listening to the PostgreSQL store at %s: %w", s.addr, err)
	}
	head, _, err := reader{q: conn}.Head(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fn("", head)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("journal: listening to the PostgreSQL store at %s: %w", s.addr, err)
		}
		runID, seq, err := parseNotification(n.Payload)
		if err != nil {
			continue // not an append's: someone else notified the channel
		}
		fn(runID, seq)
	}
}

// parseNotification reads the payload "RUN_ID SEQ" of an append.
func parseNotification(p string) (string, int64, error) {
	i := strings.LastIndexByte(p, ' ')
	if i <= 0 {
		return "", 0, errors.New("no run id")
	}
	seq, err := strconv.ParseInt(p[i+1:], 10, 64)
	return p[:i], seq, err
}
