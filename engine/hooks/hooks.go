// Package hooks starts runbooks from external events: POST /hooks/{name}
// as steward.yaml's webhooks configure it. Each request is verified
// (GitHub's signature, Zendesk's signed timestamp, a bearer token for
// Alertmanager and Grafana, an HMAC for generic senders) before anything
// else; the runbook's inputs are mapped from the payload with the
// webhook's templates; and each event starts one run, whatever the
// retries and replicas: the run's start claims the key
// hook/NAME/DEDUPE in the journal, a row unique in the whole store.
package hooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/problem"
)

// Starter starts a run of runbook with inputs as actor, for trigger, and
// returns its id once its run.started record is written. When the
// trigger's key is held, it returns the *journal.DuplicateError naming
// the run holding it, and starts nothing.
type Starter func(ctx context.Context, runbook string, inputs map[string]any, actor string, trigger *journal.Trigger) (runID string, err error)

// DefaultMaxBody bounds a request's body.
const DefaultMaxBody = 1 << 20

// Config is what a Handler works with.
type Config struct {
	// Webhooks returns the configured webhooks (steward.yaml's, reloaded
	// as the server reloads it).
	Webhooks func() []config.Webhook
	// Secret resolves a secret's NAME (STEWARD_SECRET_NAME).
	Secret func(name string) (string, bool)
	Start  Starter
	// Clock checks Zendesk's timestamps; default the real clock.
	Clock clockwork.Clock
	// Log receives refused and failed requests; default slog.Default.
	Log *slog.Logger
	// MaxBody: default DefaultMaxBody.
	MaxBody int64
}

// Handler serves POST /hooks/{name}.
type Handler struct{ cfg Config }

// New returns the handler of cfg.
func New(cfg Config) *Handler {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	return &Handler{cfg: cfg}
}

// Started is one run an event started, or found started.
type Started struct {
	RunID   string `json:"run_id"`
	Runbook string `json:"runbook"`
	// Duplicate: the event was delivered before; RunID is the run it
	// started then, and nothing was started now.
	Duplicate bool `json:"duplicate"`
}

// AlertsAnswer is the answer to an alert webhook: a run per firing alert
// (and per resolved one with resolved_runbook).
type AlertsAnswer struct {
	Runs []Started `json:"runs"`
	// Ignored counts the resolved alerts that start nothing.
	Ignored int `json:"ignored"`
}

// event is one run to start: its runbook, inputs and dedupe key.
type event struct {
	runbook string
	inputs  map[string]any
	dedupe  string
}

// ServeHTTP answers 202 with the run started (a Started; an AlertsAnswer
// for alerts), 200 when every run was started before (duplicate
// deliveries), 401 when verification fails, 404 for an unknown webhook,
// 413 for a body over MaxBody, 422 when the payload does not give the
// runbook's inputs, and problem+json for every error.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" {
		name = strings.TrimPrefix(r.URL.Path, "/hooks/")
	}
	log := h.cfg.Log.With("webhook", name, "remote", r.RemoteAddr)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		problem.Error(w, r, http.StatusMethodNotAllowed, "method-not-allowed", "webhooks are POSTed")
		return
	}
	hook, ok := h.webhook(name)
	if !ok {
		log.Warn("webhook refused: no such webhook")
		problem.Error(w, r, http.StatusNotFound, "webhook-not-found", fmt.Sprintf("no webhook %q is configured", name))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		log.Warn("webhook refused: body too large", "limit", h.cfg.MaxBody)
		problem.Error(w, r, http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("the body is larger than %d bytes", h.cfg.MaxBody))
		return
	case err != nil:
		problem.Error(w, r, http.StatusBadRequest, "bad-request", "reading the body: "+err.Error())
		return
	}
	secret, ok := h.cfg.Secret(hook.Secret)
	if !ok || secret == "" {
		log.Error("webhook refused: its secret is not set", "secret", "STEWARD_SECRET_"+strings.ToUpper(hook.Secret))
		problem.Error(w, r, http.StatusUnauthorized, "unverified", "the request cannot be verified")
		return
	}
	payload, err := h.verify(hook, r, body, []byte(secret))
	if err != nil {
		log.Warn("webhook refused: verification failed", "reason", strings.TrimPrefix(err.Error(), errVerify.Error()+": "))
		w.Header().Set("WWW-Authenticate", `Bearer realm="steward-hooks"`)
		problem.Error(w, r, http.StatusUnauthorized, "unverified", "verification failed: nothing was started")
		return
	}
	var doc any
	if err := json.Unmarshal(payload, &doc); err != nil {
		log.Warn("webhook refused: the payload is not JSON")
		problem.Error(w, r, http.StatusBadRequest, "bad-request", "the payload is not JSON: "+err.Error())
		return
	}
	events, ignored, err := h.events(hook, r, payload, doc)
	if err != nil {
		log.Warn("webhook refused: the payload does not map", "err", err)
		problem.Error(w, r, http.StatusUnprocessableEntity, "invalid-inputs", err.Error())
		return
	}
	var started []Started
	fresh := false
	for _, ev := range events {
		s, err := h.start(r.Context(), hook, ev)
		if err != nil {
			status, slug := http.StatusInternalServerError, "internal"
			var inputs *engine.InputsError
			if errors.As(err, &inputs) {
				status, slug = http.StatusUnprocessableEntity, "invalid-inputs"
			}
			log.Error("webhook: starting a run failed", "runbook", ev.runbook, "err", err)
			problem.Error(w, r, status, slug, fmt.Sprintf("starting %s: %v", ev.runbook, err))
			return
		}
		log.Info("webhook: run", "runbook", s.Runbook, "run_id", s.RunID, "duplicate", s.Duplicate)
		fresh = fresh || !s.Duplicate
		started = append(started, s)
	}
	status := http.StatusOK
	if fresh {
		status = http.StatusAccepted
	}
	if hook.Alerts() {
		writeJSON(w, status, AlertsAnswer{Runs: nonNil(started), Ignored: ignored})
		return
	}
	writeJSON(w, status, started[0])
}

func (h *Handler) webhook(name string) (*config.Webhook, bool) {
	for _, w := range h.cfg.Webhooks() {
		if w.Name == name {
			return &w, true
		}
	}
	return nil, false
}

// events are the runs a verified payload asks for: one, or for alerts
// one per firing alert (and resolved alert with resolved_runbook).
func (h *Handler) events(hook *config.Webhook, r *http.Request, payload []byte, doc any) ([]event, int, error) {
	headers := map[string]any{}
	for k, v := range r.Header {
		if len(v) > 0 && !sensitiveHeader(k) {
			headers[strings.ToLower(k)] = v[0]
		}
	}
	env := map[string]any{"payload": doc, "headers": headers, "alert": nil}
	if !hook.Alerts() {
		ev, err := h.event(hook, hook.Runbook, env, func() string {
			sum := sha256.Sum256(payload)
			return hex.EncodeToString(sum[:])
		})
		if err != nil {
			return nil, 0, err
		}
		return []event{ev}, 0, nil
	}
	m, _ := doc.(map[string]any)
	alerts, ok := m["alerts"].([]any)
	if !ok {
		return nil, 0, errors.New("an alert notification has an alerts list")
	}
	var out []event
	ignored := 0
	for i, a := range alerts {
		alert, ok := a.(map[string]any)
		fp, _ := alert["fingerprint"].(string)
		status, _ := alert["status"].(string)
		if !ok || fp == "" || (status != "firing" && status != "resolved") {
			return nil, 0, fmt.Errorf("alerts[%d] needs a fingerprint and a status, firing or resolved", i)
		}
		runbook := hook.Runbook
		if status == "resolved" {
			if hook.ResolvedRunbook == "" {
				ignored++
				continue
			}
			runbook = hook.ResolvedRunbook
		}
		starts, _ := alert["startsAt"].(string)
		aenv := map[string]any{"payload": doc, "headers": headers, "alert": alert}
		ev, err := h.event(hook, runbook, aenv, func() string { return fp + "/" + starts })
		if err != nil {
			return nil, 0, fmt.Errorf("alerts[%d]: %w", i, err)
		}
		// One run per firing of an alert (fingerprint and start), and
		// one per its resolution.
		ev.dedupe += "/" + status
		out = append(out, ev)
	}
	return out, ignored, nil
}

// event evaluates the webhook's templates over env.
func (h *Handler) event(hook *config.Webhook, runbook string, env map[string]any, dedupe func() string) (event, error) {
	ev := event{runbook: runbook, inputs: map[string]any{}}
	for _, name := range hook.InputNames() {
		v, err := hook.Inputs[name].Eval(env)
		if err != nil {
			return event{}, fmt.Errorf("input %s (%s): %v", name, hook.Inputs[name].Source, err)
		}
		if v != nil {
			ev.inputs[name] = v
		}
	}
	if hook.Dedupe == nil {
		ev.dedupe = dedupe()
		return ev, nil
	}
	v, err := hook.Dedupe.Eval(env)
	if err != nil {
		return event{}, fmt.Errorf("dedupe (%s): %v", hook.Dedupe.Source, err)
	}
	ev.dedupe = config.Text(v)
	if ev.dedupe == "" {
		return event{}, fmt.Errorf("dedupe (%s) is empty for this payload", hook.Dedupe.Source)
	}
	return ev, nil
}

// maxKey bounds a dedupe value kept as it is; a longer one is hashed.
const maxKey = 200

// start starts the event's run, or finds the run its key started.
func (h *Handler) start(ctx context.Context, hook *config.Webhook, ev event) (Started, error) {
	key := ev.dedupe
	if len(key) > maxKey {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	trigger := &journal.Trigger{Kind: "webhook", Name: hook.Name, Key: "hook/" + hook.Name + "/" + key}
	id, err := h.cfg.Start(ctx, ev.runbook, ev.inputs, "webhook:"+hook.Name, trigger)
	var dup *journal.DuplicateError
	if errors.As(err, &dup) {
		return Started{RunID: dup.RunID, Runbook: ev.runbook, Duplicate: true}, nil
	}
	if err != nil {
		return Started{}, err
	}
	return Started{RunID: id, Runbook: ev.runbook}, nil
}

// sensitiveHeader: headers templates never see.
func sensitiveHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Authorization", "Cookie", "Proxy-Authorization":
		return true
	}
	return false
}

func nonNil(s []Started) []Started {
	if s == nil {
		return []Started{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
