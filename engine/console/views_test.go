package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSchedules is a scheduler defined by the test (steward serve adapts
// engine/schedule, tested there): it records who asked what.
type testSchedules struct {
	mu    sync.Mutex
	calls []string
}

func (s *testSchedules) List(context.Context) ([]ScheduleView, error) {
	slot := time.Date(2027, 3, 29, 9, 0, 0, 0, time.UTC)
	return []ScheduleView{{Name: "weekly-review", Runbook: "refund-card", Cron: "0 9 * * MON", Timezone: "Europe/Lisbon",
		Next: slot.Add(7 * 24 * time.Hour), Last: &FireView{Slot: slot, Outcome: "skipped: paused"},
		Skipped: []SkippedSlot{{Slot: slot, Reason: "paused by lea"}}}}, nil
}

func (s *testSchedules) record(call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
}
func (s *testSchedules) Pause(_ context.Context, name, by string) error {
	s.record("pause " + name + " by " + by)
	return nil
}
func (s *testSchedules) Resume(_ context.Context, name, by string) error {
	s.record("resume " + name + " by " + by)
	return nil
}
func (s *testSchedules) Fire(_ context.Context, name, by string) (string, error) {
	s.record("fire " + name + " by " + by)
	return "20270329-090000-abcdef12", nil
}

type testPlugins struct{}

func (testPlugins) List(context.Context) ([]PluginView, error) {
	return []PluginView{{Name: "payments", Path: "/opt/steward/plugins/steward-plugin-payments", SHA256: strings.Repeat("ab", 32),
		Locked: strings.Repeat("cd", 32), LockState: "changed", Actions: []ActionView{{Name: "payments.refund", Mutates: true, Idempotent: true}}}}, nil
}

// The schedules page shows next and last fires and skipped slots with
// their reasons; pausing takes an author, running now an operator, each
// a POST with the CSRF token, recorded as the person. The plugins page
// shows lock states and actions.
func TestSchedulesAndPlugins(t *testing.T) {
	f := newFixture(t, nil)
	sch := &testSchedules{}
	f.console.cfg.Schedules, f.console.cfg.Plugins = sch, testPlugins{}
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	ana, lea := f.client(srv, "ana"), f.client(srv, "lea")
	_, page := ana.get("/schedules")
	for _, want := range []string{"weekly-review", "0 9 * * MON", "2027-04-05 09:00:00Z", "skipped: paused", "paused by lea"} {
		if !strings.Contains(page, want) {
			t.Errorf("the schedules page lacks %q", want)
		}
	}
	post := func(c *client, action string) *http.Response {
		resp, _ := c.post("/schedules/weekly-review/"+action, url.Values{csrfField: {c.csrf("/schedules")}})
		return resp
	}
	if resp := post(ana, "pause"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("an approver paused: %s", resp.Status)
	}
	if resp, _ := lea.post("/schedules/weekly-review/pause", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a pause without a CSRF token: %s", resp.Status)
	}
	if resp := post(lea, "pause"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("an admin's pause: %s", resp.Status)
	}
	if resp := post(ana, "fire"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/runs/20270329-090000-abcdef12" {
		t.Fatalf("run now: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	if resp := post(lea, "explode"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown action: %s", resp.Status)
	}
	if got := strings.Join(sch.calls, "; "); got != "pause weekly-review by lea; fire weekly-review by ana" {
		t.Fatalf("calls: %s", got)
	}
	_, page = ana.get("/plugins")
	for _, want := range []string{"payments", "changed since it was pinned", "payments.refund", "abababababab"} {
		if !strings.Contains(page, want) {
			t.Errorf("the plugins page lacks %q", want)
		}
	}
}
