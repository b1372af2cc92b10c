package journal

import (
	"encoding/json"
	"time"

	"github.com/stewardhq/steward/engine"
)

// Record types beside the engine's event types (engine.RunStarted and the
// others, which keep their names).
const (
	// ApprovalDecided is a person's decision on a waiting step: Step,
	// Approved, By, Comment, Interrupted.
	ApprovalDecided = "approval.decided"
	// CancelRequested is a person asking to cancel a run: By.
	CancelRequested = "run.cancel_requested"
	// ChangeRecorded is a change to the service that is not a runbook's
	// run (a token created or revoked, a schedule paused, a slot
	// skipped): Change. It is the middle record of a run of its own,
	// whose runbook is "steward." and the change's first word.
	ChangeRecorded = "change.recorded"
)

// Change is what a change.recorded record says.
type Change struct {
	// Kind is what changed, as "token.created", "token.revoked",
	// "schedule.paused", "schedule.skipped".
	Kind string `json:"kind"`
	// Subject is what it is about: the token's name, the schedule.
	Subject string `json:"subject,omitempty"`
	// Details are the change's facts; never a secret.
	Details map[string]any `json:"details,omitempty"`
}

// Data is the payload of a record: the fields of the engine event it
// records (those that are set), and for run.started where the run comes
// from. Secrets are redacted before a Data is made.
type Data struct {
	Step        string            `json:"step,omitempty"`
	Name        string            `json:"name,omitempty"`
	Phase       engine.Phase      `json:"phase,omitempty"`
	Action      string            `json:"action,omitempty"`
	Runbook     string            `json:"runbook,omitempty"`
	Version     string            `json:"version,omitempty"`
	Actor       string            `json:"actor,omitempty"`
	DryRun      bool              `json:"dry_run,omitempty"`
	Inputs      map[string]any    `json:"inputs,omitempty"`
	Origin      *Origin           `json:"origin,omitempty"`
	Index       *int              `json:"index,omitempty"` // a for_each item
	Items       int               `json:"items,omitempty"`
	Attempt     int               `json:"attempt,omitempty"`
	With        map[string]any    `json:"with,omitempty"`
	Key         string            `json:"key,omitempty"`
	Mutates     bool              `json:"mutates,omitempty"`
	Idempotent  bool              `json:"idempotent,omitempty"`
	Provider    string            `json:"provider,omitempty"`
	Outputs     any               `json:"outputs,omitempty"`
	Status      engine.Status     `json:"status,omitempty"`
	Error       *engine.ErrorInfo `json:"error,omitempty"`
	RetryIn     string            `json:"retry_in,omitempty"`
	Duration    string            `json:"duration,omitempty"`
	Level       string            `json:"level,omitempty"`
	Message     string            `json:"message,omitempty"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Approvers   []string          `json:"approvers,omitempty"`
	Subjects    []string          `json:"subjects,omitempty"`
	Nested      string            `json:"nested,omitempty"` // step.waiting: a sub-run's question (engine.Event.Nested)
	Approved    bool              `json:"approved,omitempty"`
	By          string            `json:"by,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	Change      *Change           `json:"change,omitempty"`
}

// Origin is where a run comes from and where it ran.
type Origin struct {
	File   string `json:"file,omitempty"`   // the runbook file, or bundled/NAME.yaml
	SHA256 string `json:"sha256,omitempty"` // of its content
	Commit string `json:"commit,omitempty"` // the Git commit of the checkout holding the file
	// Set when the runbook was read from a pinned commit of a Git or
	// GitHub source (steward.yaml sources:); Commit is then that commit.
	// Added with sources: omitempty keeps older records' hashes as they were.
	Source string `json:"source,omitempty"` // the source's name
	Repo   string `json:"repo,omitempty"`   // repository path, URL or owner/name
	Path   string `json:"path,omitempty"`   // the file inside the repository
	Blob   string `json:"blob,omitempty"`   // its Git blob SHA at Commit
	Host   string `json:"host,omitempty"`
	PID    int    `json:"pid,omitempty"`
	Parent string `json:"parent,omitempty"` // the run a sub-run belongs to
	// Trigger is what started the run when it was not a person at a
	// terminal: the API, a schedule, a webhook, an assistant.
	Trigger *Trigger `json:"trigger,omitempty"`
	// Concurrency is the run's concurrency key (the runbook's
	// concurrency.key, evaluated): while the run is active, a new run of
	// the runbook with the same key waits (runs.Service.Start).
	Concurrency string `json:"concurrency,omitempty"`
}

// Trigger says what started a run.
type Trigger struct {
	// Kind is api, console, schedule, webhook, mcp, or token (a
	// token created or revoked).
	Kind string `json:"kind"`
	// Name is the schedule's, the webhook's or the token's name, or the
	// MCP client's.
	Name string `json:"name,omitempty"`
	// Slot is the schedule's slot the run fires for.
	Slot time.Time `json:"slot,omitzero"`
	// Key, when set, is unique in the journal (Batch.Key): the run's
	// start claims it, so the same slot or event never starts two runs.
	Key string `json:"key,omitempty"`
}

// dataOf turns an engine event into a record payload.
func dataOf(e *engine.Event) *Data {
	d := &Data{Step: e.Step, Name: e.Name, Phase: e.Phase, Action: e.Action, Runbook: e.Runbook, Version: e.Version,
		Actor: e.Actor, DryRun: e.DryRun, Inputs: e.Inputs, Items: e.Items, Attempt: e.Attempt, With: e.With,
		Key: e.Key, Mutates: e.Mutates, Idempotent: e.Idempotent, Provider: e.Provider, Outputs: e.Outputs, Status: e.Status, Error: e.Error,
		Level: e.Level, Message: e.Message, Interrupted: e.Interrupted, Approvers: e.Approvers,
		Subjects: e.Subjects, Nested: e.Nested}
	if e.Index >= 0 {
		i := e.Index
		d.Index = &i
	}
	if e.RetryIn > 0 {
		d.RetryIn = e.RetryIn.String()
	}
	if e.Duration > 0 {
		d.Duration = e.Duration.String()
	}
	return d
}

// index is the item of a record, -1 when it has none.
func (d *Data) index() int {
	if d.Index == nil {
		return -1
	}
	return *d.Index
}

func (d *Data) duration() time.Duration {
	v, _ := time.ParseDuration(d.Duration)
	return v
}

// Decode reads a record's payload.
func (r Record) Decode() (*Data, error) {
	d := &Data{}
	if len(r.Data) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(r.Data, d); err != nil {
		return nil, err
	}
	return d, nil
}
