package runs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/postgres"
	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
	"github.com/stewardhq/steward/engine/runs"
)

const heldRunbook = `version: 1
name: held
steps:
  - id: wait
    action: test.hold
  - id: after
    action: core.set
    with: {done: true}
`

// holdAction blocks until release is closed.
func holdAction(release <-chan struct{}) actions.Action {
	return act("test.hold", false, func(ctx context.Context, _ *actions.Request) (map[string]any, error) {
		select {
		case <-release:
			return map[string]any{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
}

// startHeld starts the held runbook on svc in the background and returns
// its id once run.started is recorded, and the run's end.
func startHeld(t *testing.T, f *fixture, svc *runs.Service) (string, <-chan error) {
	t.Helper()
	doc := f.runbook("held", heldRunbook)
	started := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		_, err := svc.Start(context.Background(), svc.Prepare(doc, nil), runs.StartRequest{Actor: "ana",
			Progress: engine.SinkFunc(func(e *engine.Event) {
				if e.Type == engine.RunStarted {
					started <- e.RunID
				}
			})})
		done <- err
	}()
	select {
	case id := <-started:
		return id, done
	case err := <-done:
		t.Fatalf("the run ended before it started: %v", err)
	}
	return "", nil
}

// follow follows run id on svc from its start, with a poll of an hour
// on a fake clock: only a notification of an append wakes it. It returns
// the types of the records read, once the first is read (then it
// waits), and its end.
func follow(t *testing.T, svc *runs.Service, id string) (first <-chan struct{}, types func() string, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a follower never woken fails
	t.Cleanup(cancel)
	firstc, donec := make(chan struct{}), make(chan error, 1)
	var got []string
	go func() {
		donec <- svc.Events(ctx, id, 0, true, time.Hour, func(r journal.Record) error {
			if got = append(got, r.Type); len(got) == 1 {
				close(firstc)
			}
			return nil
		})
	}()
	return firstc, func() string { return strings.Join(got, " ") }, donec
}

// TestEventsWokenByAppend: a follower of a running run is woken by the
// records the service appends, not by its poll (on a fake clock, never
// due): it reads them up to run.finished and returns.
func TestEventsWokenByAppend(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, clockwork.NewFakeClock(), journal.Policy{}, holdAction(release))
	id, ran := startHeld(t, f, f.svc)
	first, types, followed := follow(t, f.svc, id)
	<-first // it read what was recorded, and waits
	close(release)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if err := <-followed; err != nil {
		t.Fatalf("Events: %v (read %s)", err, types())
	}
	if got := types(); !strings.HasPrefix(got, "run.started") || !strings.HasSuffix(got, "run.finished") {
		t.Fatalf("records followed: %s", got)
	}
}

// TestEventsWokenByAnotherReplica: on PostgreSQL, a follower on one
// service is woken by the records another service (another replica)
// appends, as the store's Listen reports them to Watch.
func TestEventsWokenByAnotherReplica(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	release := make(chan struct{})
	f := &fixture{t: t, home: t.TempDir(), dir: t.TempDir()}
	executor := f.service(open(), nil, journal.Policy{}, holdAction(release))
	pg := open()
	follower := f.service(pg, clockwork.NewFakeClock(), journal.Policy{})

	wctx, stop := context.WithCancel(ctx)
	listening, watched := make(chan struct{}), make(chan error, 1)
	go func() {
		watched <- follower.Watch(wctx, func(ctx context.Context, fn func(string, int64)) error {
			return pg.Listen(ctx, func(run string, seq int64) {
				if run == "" {
					close(listening)
				}
				fn(run, seq)
			})
		})
	}()
	<-listening
	id, ran := startHeld(t, f, executor)
	first, types, followed := follow(t, follower, id)
	<-first
	close(release)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if err := <-followed; err != nil {
		t.Fatalf("Events: %v (read %s)", err, types())
	}
	if got := types(); !strings.HasSuffix(got, "run.finished") {
		t.Fatalf("records followed: %s", got)
	}
	stop()
	if err := <-watched; err != nil {
		t.Fatalf("Watch: %v", err)
	}
}
