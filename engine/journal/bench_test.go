package journal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

const (
	benchRecords = 100_000
	benchRuns    = 1_000
)

// benchJournal is a journal of benchRecords records of about 300 bytes of
// data, over benchRuns runs appended 10 records at a time in turn.
func benchJournal(b *testing.B) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	const perBatch = 10
	pad := strings.Repeat("x", 150)
	seq := 0
	for round := range benchRecords / benchRuns / perBatch {
		for r := range benchRuns {
			id := fmt.Sprintf("20261121-101502-%08x", r)
			batch := journal.Batch{RunID: id}
			for i := range perBatch {
				seq++
				typ := "step.finished"
				data := fmt.Sprintf(`{"step":"deploy-%d","attempt":1,"with":{"url":"https://example.com/api/v1/items/%d","method":"POST"},"outputs":{"status":200,"body":"%s"}}`, i, seq, pad)
				at := t0.Add(time.Duration(seq) * time.Millisecond)
				if round == 0 && i == 0 {
					// What the summary says, as a real run.started.
					typ = "run.started"
					data = `{"runbook":"deploy","actor":"ana","inputs":{"url":"https://example.com/api/v1/items"}}`
					batch.Run = &journal.Run{ID: id, Runbook: "deploy", Actor: "ana", Status: "running", StartedAt: at}
				}
				batch.Entries = append(batch.Entries, journal.Entry{Type: typ, Time: at, Data: json.RawMessage(data)})
			}
			if _, err := s.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

func BenchmarkVerify(b *testing.B) {
	s := benchJournal(b)
	ctx := context.Background()
	for b.Loop() {
		rep, err := journal.Verify(ctx, s, "")
		if err != nil {
			b.Fatal(err)
		}
		if rep.Problem != nil || rep.Records != benchRecords || rep.Runs != benchRuns {
			b.Fatalf("%+v", rep)
		}
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkVerifyFile(b *testing.B) {
	s := benchJournal(b)
	var buf bytes.Buffer
	if _, err := journal.Export(context.Background(), s, &buf, "", time.Time{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		rep, err := journal.VerifyFile(bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		if rep.Problem != nil || rep.Records != benchRecords {
			b.Fatalf("%+v", rep)
		}
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkExport(b *testing.B) {
	s := benchJournal(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if _, err := journal.Export(context.Background(), s, &buf, "", time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
