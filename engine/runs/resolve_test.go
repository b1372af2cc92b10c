package runs_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// Resolve finds a run by its id, or by a unique prefix of the id or of a
// part of it after a dash; a run's sub-runs do not make it ambiguous.
func TestResolve(t *testing.T) {
	f := newFixture(t, nil, journal.Policy{})
	ctx := context.Background()
	t0 := time.Date(2026, 11, 21, 10, 15, 2, 0, time.UTC)
	add := func(id string, m int) {
		at := t0.Add(time.Duration(m) * time.Minute)
		_, err := f.store.Append(ctx, journal.Batch{RunID: id, Run: &journal.Run{ID: id, Runbook: "r", Status: "succeeded", StartedAt: at, UpdatedAt: at},
			Entries: []journal.Entry{{Type: "run.started", Time: at, Data: []byte(`{}`)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("20261121-101502-3fa9c2d1", 0)
	add("20261121-101502-3fa9c2d1.notify", 1)
	add("20261121-101502-3fa9c2d1.notify.0.page", 2)
	add("20261121-111111-3fb0aaaa", 3)
	add("20261122-090000-9ed06c98", 4)
	add("20261122-090000-9ed0", 5) // a whole id that is a prefix of another
	for _, tc := range []struct{ ref, want string }{
		{"20261121-101502-3fa9c2d1", "20261121-101502-3fa9c2d1"},
		{"3fa9", "20261121-101502-3fa9c2d1"},
		{"3fa9c2d1.notify", "20261121-101502-3fa9c2d1.notify"},
		{"3fa9c2d1.notify.0", "20261121-101502-3fa9c2d1.notify.0.page"},
		{"3fb", "20261121-111111-3fb0aaaa"},
		{"20261121-1111", "20261121-111111-3fb0aaaa"},
		{"111111-3", "20261121-111111-3fb0aaaa"},
		{"9ed06", "20261122-090000-9ed06c98"},
		{"20261122-090000-9ed0", "20261122-090000-9ed0"},
	} {
		got, err := f.svc.Resolve(ctx, tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
	for _, ref := range []string{"", "7", "a9c2", "3FA9", "%", "3fa9c2d1.n%"} {
		if got, err := f.svc.Resolve(ctx, ref); !errors.Is(err, runs.ErrNotFound) {
			t.Errorf("Resolve(%q) = %q, %v; want ErrNotFound", ref, got, err)
		}
	}
	_, err := f.svc.Resolve(ctx, "3f")
	var amb *runs.AmbiguousError
	if !errors.As(err, &amb) || !errors.Is(err, runs.ErrAmbiguous) {
		t.Fatalf("Resolve(3f): %v; want an *AmbiguousError", err)
	}
	var ids []string
	for _, r := range amb.Candidates {
		ids = append(ids, r.ID)
	}
	if want := []string{"20261121-111111-3fb0aaaa", "20261121-101502-3fa9c2d1"}; !reflect.DeepEqual(ids, want) || amb.More != 0 {
		t.Errorf("candidates %v, %d more; want %v", ids, amb.More, want)
	}
	if got, want := err.Error(), `run id "3f" is ambiguous: it matches 2 runs`; got != want {
		t.Errorf("error %q, want %q", got, want)
	}

	// At most MaxCandidates are named, newest first; the others counted.
	for i := range runs.MaxCandidates + 2 {
		add(fmt.Sprintf("20261123-000000-ab%06d", i), 10+i)
	}
	_, err = f.svc.Resolve(ctx, "ab")
	if !errors.As(err, &amb) || len(amb.Candidates) != runs.MaxCandidates || amb.More != 2 ||
		amb.Candidates[0].ID != fmt.Sprintf("20261123-000000-ab%06d", runs.MaxCandidates+1) {
		t.Fatalf("Resolve(ab): %v, %+v", err, amb)
	}
}
