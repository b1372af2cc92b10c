package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/journal"
)

// testSchedules is an in-test implementation of api.Schedules: the
// scheduler (engine/schedule) is built in parallel and is adapted to the
// interface when merged. Fire starts a real run of the schedule's
// runbook through the run service.
type testSchedules struct {
	f     *fixture
	mu    sync.Mutex
	list  []api.ScheduleStatus
	calls []string
}

func (s *testSchedules) List(ctx context.Context) ([]api.ScheduleStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.ScheduleStatus(nil), s.list...), nil
}

func (s *testSchedules) set(name, by, what string, paused bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.list {
		if s.list[i].Name == name {
			s.list[i].Paused = paused
			if paused {
				s.list[i].NextFire = time.Time{}
			}
			s.calls = append(s.calls, what+" "+name+" by "+by)
			return nil
		}
	}
	return fmt.Errorf("schedule %s: %w", name, api.ErrNoSchedule)
}

func (s *testSchedules) Pause(ctx context.Context, name, by string) error {
	return s.set(name, by, "pause", true)
}
func (s *testSchedules) Resume(ctx context.Context, name, by string) error {
	return s.set(name, by, "resume", false)
}
func (s *testSchedules) Fire(ctx context.Context, name, by string) (string, error) {
	if err := s.set(name, by, "fire", false); err != nil {
		return "", err
	}
	plan := s.f.svc.Prepare(mustResolve(s.f, "hello"), nil)
	res, err := s.f.svc.Start(ctx, plan, runsStart(by))
	if err != nil {
		return "", err
	}
	return res.ID, nil
}

func TestSchedules(t *testing.T) {
	sch := &testSchedules{list: []api.ScheduleStatus{
		{Name: "hello-0", Runbook: "hello", Cron: "0 9 * * MON", Timezone: "Europe/Lisbon", Catchup: "latest", Overlap: "skip",
			NextFire: time.Date(2027, 3, 29, 8, 0, 0, 0, time.UTC),
			LastFire: &api.LastFire{Slot: time.Date(2027, 3, 22, 9, 0, 0, 0, time.UTC), RunID: "20270322-090000-aaaaaaaa", Outcome: "succeeded"}},
		{Name: "refund-0", Runbook: "refund", Cron: "*/5 * * * *", Timezone: "UTC", Catchup: "none", Overlap: "buffer_one"},
	}}
	f := newFixture(t, map[string]string{"hello": hello, "refund": refund}, func(c *api.Config) { c.Schedules = sch })
	sch.f = f
	res := f.do("GET", "/api/v1/schedules", "viewer", nil)
	var l api.ScheduleList
	res.decode(t, &l)
	if res.status != 200 || len(l.Schedules) != 2 || l.Schedules[0].LastFire.Outcome != "succeeded" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	// An operator may not pause; an author may, recorded as them.
	if p := f.do("POST", "/api/v1/schedules/hello-0/pause", "ops", nil).problem(t); p.Status != 403 {
		t.Fatalf("%+v", p)
	}
	res = f.do("POST", "/api/v1/schedules/hello-0/pause", "author", nil)
	var st api.ScheduleStatus
	res.decode(t, &st)
	if res.status != 200 || !st.Paused || !st.NextFire.IsZero() {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if res = f.do("POST", "/api/v1/schedules/hello-0/resume", "author", nil); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	res = f.do("POST", "/api/v1/schedules/hello-0/fire", "admin", nil)
	var fired api.Fired
	res.decode(t, &fired)
	if res.status != 202 || fired.RunID == "" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if d := f.show(fired.RunID); d.Run.Actor != "admin" || d.Run.Status != "succeeded" {
		t.Fatalf("%+v", d.Run)
	}
	if p := f.do("POST", "/api/v1/schedules/nope/fire", "admin", nil).problem(t); p.Status != 404 || p.Type != "urn:steward:problem:schedule-not-found" {
		t.Fatalf("%+v", p)
	}
	want := "pause hello-0 by aida|resume hello-0 by aida|fire hello-0 by admin"
	if got := strings.Join(sch.calls, "|"); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	// Without a scheduler: 503.
	g := newFixture(t, nil)
	if p := g.do("GET", "/api/v1/schedules", "viewer", nil).problem(t); p.Status != 503 || p.Type != "urn:steward:problem:no-scheduler" {
		t.Fatalf("%+v", p)
	}
}

// Audit: verify reads one snapshot; export streams JSON Lines that
// journal.VerifyFile accepts on their own.
func TestAudit(t *testing.T) {
	f := newFixture(t, map[string]string{"hello": hello})
	id := f.start("ops", "hello", map[string]any{"who": "ana", "token": "s3cr3t"})
	f.events(id, "viewer")
	res := f.do("GET", "/api/v1/audit/verify", "viewer", nil)
	var v api.Verified
	res.decode(t, &v)
	if res.status != 200 || !v.Verified || v.Records == 0 || v.Runs != 1 || v.LastSeq != int64(v.Records) {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if res = f.do("GET", "/api/v1/audit/verify?run="+id, "viewer", nil); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	res = f.do("GET", "/api/v1/audit/export", "viewer", nil)
	if res.status != 200 || strings.Contains(string(res.body), "s3cr3t") {
		t.Fatalf("%d %s", res.status, res.body)
	}
	fr, err := journal.VerifyFile(strings.NewReader(string(res.body)))
	if err != nil || fr.Problem != nil || fr.Records != v.Records {
		t.Fatalf("the export does not verify: %v %+v", err, fr)
	}
	if p := f.do("GET", "/api/v1/audit/export?since=today", "viewer", nil).problem(t); p.Status != 400 {
		t.Fatalf("%+v", p)
	}
	if p := f.do("GET", "/api/v1/audit/export?run=nope", "viewer", nil).problem(t); p.Status != 404 {
		t.Fatalf("%+v", p)
	}
	// The audit covers every runbook: a role on some is not enough.
	if p := f.do("GET", "/api/v1/audit/verify", "", nil).problem(t); p.Status != 401 {
		t.Fatalf("%+v", p)
	}
}

// Health, readiness and the OpenAPI document need no identity; a
// draining server is not ready and starts nothing.
func TestHealth(t *testing.T) {
	var notReady error
	f := newFixture(t, map[string]string{"hello": hello}, func(c *api.Config) {
		c.Ready = func(context.Context) error { return notReady }
	})
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/openapi.yaml"} {
		if res := f.do("GET", path, "", nil); res.status != 200 {
			t.Fatalf("%s: %d %s", path, res.status, res.body)
		}
	}
	notReady = errors.New("the scheduler has not started")
	if res := f.do("GET", "/readyz", "", nil); res.status != 503 || !strings.Contains(string(res.body), "scheduler") {
		t.Fatalf("%d %s", res.status, res.body)
	}
	notReady = nil
	f.api.Drain()
	if res := f.do("GET", "/readyz", "", nil); res.status != 503 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if p := f.do("POST", "/api/v1/runs", "ops", api.StartRequest{Runbook: "hello", Inputs: map[string]any{"who": "ana"}}).problem(t); p.Status != http.StatusServiceUnavailable {
		t.Fatalf("%+v", p)
	}
}
