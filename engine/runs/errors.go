package runs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// Errors of the service. Each kind is a sentinel (errors.Is) or a type
// (errors.As) carrying what a caller renders.
var (
	// ErrNotFound: no run with that id (errors.Is journal.ErrRunNotFound).
	ErrNotFound = journal.ErrRunNotFound
	// ErrBusy: another execution holds the run's lease; the error is a
	// *journal.BusyError naming it.
	ErrBusy = journal.ErrRunBusy
	// ErrNotWaiting: a decision for a step that waits for none.
	ErrNotWaiting = journal.ErrNotWaiting
)

// EndedError: the run already ended; nothing to resume or cancel.
type EndedError struct {
	ID     string
	Status string
}

func (e *EndedError) Error() string {
	return fmt.Sprintf("run %s already ended: %s", e.ID, e.Status)
}

// SubRunError: the run is a sub-run; it goes on, or is cancelled, with
// the run it belongs to.
type SubRunError struct {
	ID, Parent, Root string
}

func (e *SubRunError) Error() string {
	return fmt.Sprintf("run %s is a sub-run of %s", e.ID, e.Parent)
}

// InvalidRunbookError: the runbook (of a new run, or the version a run
// started with) does not validate here; nothing ran. Diagnostics are
// every problem, warnings included: a step whose plugin is not installed
// cannot run.
type InvalidRunbookError struct {
	File        string
	RunID       string // set when continuing a recorded run
	Diagnostics schema.Diagnostics
}

func (e *InvalidRunbookError) Error() string {
	if n, _ := e.Diagnostics.Count(); n == 0 {
		return fmt.Sprintf("%s cannot run here: it uses a plugin that is not installed; nothing ran", e.File)
	}
	return fmt.Sprintf("%s is invalid: %s; nothing ran", e.File, plural(len(e.Diagnostics), "problem"))
}

// SourceError: the runbook source the journal holds for a run is not the
// version its run.started record names (it was changed in the store), or
// the record names none: the run does not go on with it; nothing ran.
type SourceError struct {
	RunID string
	// Want is the version (SHA-256) run.started names; Got what the
	// stored source hashes to.
	Want, Got string
}

func (e *SourceError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("run %s: its run.started record names no runbook version: it cannot go on; nothing ran", e.RunID)
	}
	return fmt.Sprintf("run %s: its runbook source in the journal was changed: its run.started record names sha256 %s, the stored source hashes to %s; nothing ran",
		e.RunID, e.Want, e.Got)
}

// InputError: an input given to continue a run is wrong (only secret
// inputs are given again; the others are the run's own).
type InputError struct {
	Input   string // "" when it concerns several
	Message string
}

func (e *InputError) Error() string { return e.Message }

// MissingSecretsError: secret inputs the run had must be given again.
type MissingSecretsError struct {
	Inputs []string
}

func (e *MissingSecretsError) Error() string {
	return "the journal never keeps secret inputs: give " + strings.Join(e.Inputs, ", ") + " again"
}

// RefusedError: the actor may not decide this question (not an
// approver, or the requester under four eyes).
type RefusedError struct {
	Err error
}

func (e *RefusedError) Error() string {
	return "refused: " + strings.TrimPrefix(e.Err.Error(), "journal: ")
}
func (e *RefusedError) Unwrap() error { return e.Err }

// AlreadyDecidedError: the question was decided already (or by another
// person at the same moment): exactly one decision per question is
// recorded, the first; this one is not.
type AlreadyDecidedError struct {
	RunID string
	Step  string
	// By, Approved and Interrupted are the recorded decision's; Seq is
	// its approval.decided record.
	By          string
	Approved    bool
	Interrupted bool
	Seq         int64
}

func (e *AlreadyDecidedError) Error() string {
	verb := "approved"
	if !e.Approved {
		verb = "denied"
	}
	return fmt.Sprintf("step %s of run %s was already decided by %s: %s (record %d); only the first decision counts",
		e.Step, e.RunID, e.By, verb, e.Seq)
}

// ExpiredError: the approval timed out before the decision: nothing is
// recorded, and the step fails when the run goes on.
type ExpiredError struct {
	Step    string
	At      time.Time
	Timeout time.Duration
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("the approval of step %s timed out at %s: nobody decided within %s; the step fails",
		e.Step, e.At.UTC().Format(time.RFC3339), e.Timeout)
}

// StillRunningError: a cancel was recorded but the execution holding the
// run did not end it within the wait.
type StillRunningError struct {
	ID    string
	Wait  time.Duration
	Lease journal.Lease
}

func (e *StillRunningError) Error() string {
	return fmt.Sprintf("run %s still runs after %s: its execution (process %d on %s) has not stopped", e.ID, e.Wait, e.Lease.PID, e.Lease.Host)
}

// StoreError wraps a failure of the store: the journal cannot be read or
// written.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var se *StoreError
	if errors.As(err, &se) || errors.Is(err, journal.ErrRunNotFound) || errors.Is(err, journal.ErrRunBusy) {
		return err
	}
	return &StoreError{Err: err}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
