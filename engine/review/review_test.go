package review

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

func doc(id, runbook string, start time.Time, inputs map[string]any, with map[string]any) *runs.Document {
	d := &runs.Document{Run: journal.Run{ID: id, Runbook: runbook, Status: "succeeded", StartedAt: start, FinishedAt: start.Add(time.Second)}, Inputs: inputs}
	w, _ := json.Marshal(map[string]any{"step": "escalate", "with": with})
	d.Timeline = []runs.TimelineEntry{{Seq: 1, Time: start, Type: "step.started", Data: w, Hash: "0123456789abcdef0123"}}
	return d
}

// TestLinked: the runs with the id as an input, and the runs that
// escalated with their dedupe keys while they ran; not the others.
func TestLinked(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	keys := map[string]any{"inputs": map[string]any{"dedupe_keys": []any{"alert:fp1", "incident:provider:stripe"}}}
	support := map[string]any{"inputs": map[string]any{"dedupe_keys": []any{"incident:provider:stripe"}}}
	ds := []*runs.Document{
		doc("r3", "incident-triage", t0.Add(40*time.Minute), map[string]any{"fingerprint": "fp1", "status": "resolved"}, keys),
		doc("r1", "incident-triage", t0, map[string]any{"fingerprint": "fp1", "labels": map[string]any{"provider": "stripe"}}, keys),
		doc("r2", "card-payment-failure", t0.Add(10*time.Minute), map[string]any{"id": "pi_1"}, support),
		doc("late", "card-payment-failure", t0.Add(2*time.Hour), map[string]any{"id": "pi_2"}, support),
		doc("other", "incident-triage", t0.Add(5*time.Minute), map[string]any{"fingerprint": "fp2"}, map[string]any{"dedupe_keys": []any{"alert:fp2"}}),
		doc("quiet", "card-payment-failure", t0.Add(15*time.Minute), map[string]any{"id": "pi_3"}, map[string]any{"dedupe_keys": []any{}}),
	}
	var got []string
	for _, d := range Linked("fp1", ds) {
		got = append(got, d.Run.ID)
	}
	if strings.Join(got, " ") != "r1 r2 r3" {
		t.Errorf("linked %v, want r1 r2 r3", got)
	}
	if l := Linked("nothing", ds); len(l) != 0 {
		t.Errorf("linked to nothing: %v", l)
	}
}

// TestWriteRunCells: what a run recorded cannot break the Markdown: a |
// or a line break in a value stays in its cell, control characters are
// escaped, long values are cut.
func TestWriteRunCells(t *testing.T) {
	d := doc("r1", "rb", time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC), map[string]any{"note": "a | b\nc\x1b[31m", "long": strings.Repeat("x", 500)}, nil)
	var b strings.Builder
	if err := WriteRun(&b, d); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"| note | a \\| b c\\x1b[31m |\n", "| long | " + strings.Repeat("x", 239) + "… |\n", "| 2026-12-06 10:00:00.000Z | 1 | 0123456789ab | step.started escalate with=null |\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("lacks %q:\n%s", want, md)
		}
	}
}
