package postgres

import (
	"fmt"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/journaltest"
	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
)

// benchOpen opens a fresh store for a benchmark, and gives handles on it.
func benchOpen(b *testing.B) func() journal.Store {
	url := pgtest.URL(b)
	return func() journal.Store {
		s, err := Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
}

// BenchmarkAppend: batches of three records from 1, 4 and 16 writers,
// each with a handle of its own (a replica), with Sync and without.
func BenchmarkAppend(b *testing.B) {
	for _, durable := range []bool{false, true} {
		for _, writers := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("sync=%v/writers=%d", durable, writers), func(b *testing.B) {
				journaltest.BenchAppend(b, benchOpen(b), writers, durable)
			})
		}
	}
}

// BenchmarkChain100: runs of 100 core.set steps recorded in PostgreSQL;
// B/run is what the journal's tables (heap, indexes and TOAST, as
// pg_total_relation_size counts them) grew by per run, body-B/run the
// records' bodies and hashes alone.
func BenchmarkChain100(b *testing.B) {
	s := benchOpen(b)().(*Store)
	size := func() int64 {
		var n int64
		if err := s.pool.QueryRow(ctx, `SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c
			WHERE c.relkind = 'r' AND c.relname LIKE 'journal\_%' AND c.relnamespace = current_schema()::regnamespace`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	before := size()
	runs := journaltest.BenchChain(b, s, 100)
	b.ReportMetric(float64(size()-before)/float64(runs), "B/run")
	var body int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(octet_length(body) + octet_length(hash)), 0)::bigint FROM journal_records`).Scan(&body); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(body)/float64(runs), "body-B/run")
}
