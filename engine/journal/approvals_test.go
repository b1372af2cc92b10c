package journal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// TestWaitingExpired proves when a question times out: the approval's
// timeout after it was first asked, to the nanosecond; never without a
// timeout, nor for an interrupted attempt.
func TestWaitingExpired(t *testing.T) {
	since := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name        string
		interrupted bool
		timeout     time.Duration
		now         time.Time
		want        bool
	}{
		{"before", false, time.Hour, since.Add(time.Hour - time.Nanosecond), false},
		{"at", false, time.Hour, since.Add(time.Hour), true},
		{"after", false, time.Hour, since.Add(2 * time.Hour), true},
		{"no timeout", false, 0, since.Add(1000 * time.Hour), false},
		{"interrupted", true, time.Hour, since.Add(2 * time.Hour), false},
	}
	for _, c := range cases {
		w := &journal.Waiting{Step: "fix", Interrupted: c.interrupted, Since: since}
		if got := w.Expired(c.now, c.timeout); got != c.want {
			t.Errorf("%s: Expired %v, want %v", c.name, got, c.want)
		}
		at, ok := w.Expiry(c.timeout)
		if wantOK := c.timeout > 0 && !c.interrupted; ok != wantOK || ok && !at.Equal(since.Add(c.timeout)) {
			t.Errorf("%s: Expiry %s %v", c.name, at, ok)
		}
	}
}

// TestApproverExpires proves the journal's Approver says an approval
// recorded as waiting has expired from the same instant as
// Waiting.Expired, and not a nanosecond before.
func TestApproverExpires(t *testing.T) {
	x := &executions{}
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clockwork.NewRealClock(), nil)...); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(x.action("test.write", true, true)); err != nil {
		t.Fatal(err)
	}
	rb, diags := schema.Check("test.yaml", []byte(`version: 1
name: roundtrip-expires
steps:
  - id: fix
    approval: {message: "fix it?", timeout: 1h}
    action: test.write
`), reg)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	s := openStore(t)
	if res := journaled(t, s, rb, reg, nil); res.Status != engine.StatusWaiting {
		t.Fatalf("run %s %+v", res.Status, res.Error)
	}
	st := loadState(t, s)
	if len(st.Waiting) != 1 {
		t.Fatalf("waiting %+v", st.Waiting)
	}
	w := st.Waiting[0]
	req := engine.ApprovalRequest{RunID: roundTripRun, Step: "fix", Action: "test.write", Timeout: time.Hour}
	for _, c := range []struct {
		now  time.Time
		want error
	}{
		{w.Since.Add(time.Hour - time.Nanosecond), engine.ErrPending},
		{w.Since.Add(time.Hour), engine.ErrApprovalExpired},
	} {
		if expired := c.want == engine.ErrApprovalExpired; w.Expired(c.now, req.Timeout) != expired {
			t.Errorf("Waiting.Expired at %s disagrees with %v", c.now, c.want)
		}
		_, err := st.Approver(func() time.Time { return c.now }).Decide(context.Background(), req)
		if !errors.Is(err, c.want) {
			t.Errorf("Decide at %s: %v, want %v", c.now, err, c.want)
		}
	}
	if got := x.take(); len(got) != 0 {
		t.Errorf("executed %v", got)
	}
}

// TestWaitingAskedAtOnceInOrder proves questions asked at the same
// instant (the approvals of a parallel group, under one clock reading)
// are listed in the order their records were written, every time: not
// in the order of a map, which changes from one load to the next.
func TestWaitingAskedAtOnceInOrder(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	entry := func(typ engine.EventType, data string) journal.Entry {
		return journal.Entry{Type: string(typ), Time: at, Data: []byte(data)}
	}
	entries := []journal.Entry{entry(engine.RunStarted, `{"runbook":"parallel"}`)}
	// Written in the reverse of their names' order: the order of the
	// records, not of the names, is the one asked for.
	var want []string
	for i := 8; i > 0; i-- {
		step := fmt.Sprintf("approve-%d", i)
		want = append(want, step)
		entries = append(entries, entry(engine.StepStarted, `{"step":"`+step+`","action":"core.log"}`),
			entry(engine.StepWaiting, `{"step":"`+step+`","message":"go?"}`))
	}
	s := openStore(t)
	run := journal.Run{ID: roundTripRun, Runbook: "parallel", Actor: "ana", Status: string(engine.StatusWaiting), StartedAt: at}
	if _, err := s.Append(context.Background(), journal.Batch{RunID: roundTripRun, Entries: entries, Run: &run, Sync: true}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		var got []string
		for _, w := range loadState(t, s).Waiting {
			got = append(got, w.Step)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("waiting %v, want %v", got, want)
		}
	}
}
