package sqlite_test

import (
	"fmt"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/journaltest"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

// BenchmarkAppend: the benchmark every store runs (journaltest), each
// writer with a handle of its own on one home (another process).
func BenchmarkAppend(b *testing.B) {
	for _, durable := range []bool{false, true} {
		for _, writers := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("sync=%v/writers=%d", durable, writers), func(b *testing.B) {
				home := b.TempDir()
				journaltest.BenchAppend(b, func() journal.Store {
					s, err := sqlite.Open(home)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { s.Close() })
					return s
				}, writers, durable)
			})
		}
	}
}

// BenchmarkAppendShared: as BenchmarkAppend, but the writers share one
// handle, as the runs of one steward serve process do.
func BenchmarkAppendShared(b *testing.B) {
	for _, durable := range []bool{false, true} {
		for _, writers := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("sync=%v/writers=%d", durable, writers), func(b *testing.B) {
				s, err := sqlite.Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				journaltest.BenchAppend(b, func() journal.Store { return s }, writers, durable)
			})
		}
	}
}
