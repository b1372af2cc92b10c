package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/stewardhq/steward/engine/journal"
)

// Dump calls fn with a journal.Dump of one read transaction: the whole
// journal as it is at one instant, for copying it into another store.
func (s *Store) Dump(ctx context.Context, fn func(journal.Dump) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("journal: reading the journal: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM head`).Scan(&n); err != nil {
		return fmt.Errorf("journal: reading the journal: %w", err)
	}
	return fn(dump{reader{tx}, tx})
}

type dump struct {
	reader
	tx *sql.Tx
}

// Sources calls fn for each runbook source, by hash.
func (d dump) Sources(ctx context.Context, fn func(journal.Source) error) error {
	rows, err := d.tx.QueryContext(ctx, `SELECT sha256, name, file, src FROM sources ORDER BY sha256`)
	if err != nil {
		return fmt.Errorf("journal: reading runbook sources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src journal.Source
		if err := rows.Scan(&src.SHA256, &src.Name, &src.File, &src.Src); err != nil {
			return fmt.Errorf("journal: reading runbook sources: %w", err)
		}
		if err := fn(src); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Claims calls fn for each Once key, key, cancel request and end, each
// kind in turn, by record.
func (d dump) Claims(ctx context.Context, fn func(journal.Claim) error) error {
	rows, err := d.tx.QueryContext(ctx, `
		SELECT 'once', run_id, key, seq FROM once_keys
		UNION ALL SELECT 'key', run_id, key, seq FROM keys
		UNION ALL SELECT 'cancel', run_id, '', seq FROM cancels
		UNION ALL SELECT 'ended', run_id, '', seq FROM ended
		ORDER BY 1, 4, 2, 3`)
	if err != nil {
		return fmt.Errorf("journal: reading claims: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c journal.Claim
		if err := rows.Scan(&c.Kind, &c.RunID, &c.Key, &c.Seq); err != nil {
			return fmt.Errorf("journal: reading claims: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}
