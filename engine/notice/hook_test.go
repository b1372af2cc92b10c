package notice_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/hooks"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// The pieces as steward serve composes them: a signed webhook starts a
// run that waits for an approval, and its approvers are told, naming the
// webhook as who started it.
func TestWebhookRunNotifiesApprovers(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
	recv, url := newReceiver(t, 200)
	r := newReplica(t, t.TempDir(), clock, map[string]any{"webhook": map[string]any{"url": url}}, config.Notify{Action: "notify.webhook"})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "refund.yaml"), []byte(refund), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "steward.yaml"), []byte("webhooks:\n  - {name: refunds, runbook: refund, verify: generic, secret: {secret: S}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bg := runs.NewBackground(ctx, nil, nil)
	starter := hooks.NewRuns(bg, r.svc, func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, []string{dir}) })
	defer func() { cancel(); _ = bg.Wait(context.Background()) }()
	srv := httptest.NewServer(hooks.New(hooks.Config{Webhooks: func() []config.Webhook { return cfg.Webhooks },
		Secret: func(string) (string, bool) { return "s3cret", true }, Start: starter.Starter(), Clock: clock}))
	defer srv.Close()
	body := []byte(`{"ticket":1}`)
	req, _ := http.NewRequest("POST", srv.URL+"/hooks/refunds", bytes.NewReader(body))
	req.Header.Set("X-Steward-Signature", hooks.Sign([]byte("s3cret"), body))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("delivery: %v %v", res, err)
	}
	res.Body.Close()
	// The run waits once its execution has recorded the wait: sweep
	// until it is seen (the sweep is what serve repeats every Poll).
	for deadline := time.Now().Add(30 * time.Second); len(recv.texts()) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no notification within 30s")
		}
		if err := r.notifier.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if text := recv.texts()[0]; !strings.Contains(text, "started by webhook:refunds") || !strings.Contains(text, "Refund 42 EUR") {
		t.Fatalf("message:\n%s", text)
	}
}
