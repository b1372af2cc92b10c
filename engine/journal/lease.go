package journal

import (
	"errors"
	"fmt"
	"time"
)

// Lease says who executes a run now: a run being executed holds one, its
// holder renews it (the heartbeat) while it runs, and releases it when it
// stops. A lease that is not renewed expires, and the run is then
// interrupted: anyone may resume it. Only the holder of a run's lease
// appends its engine records; anyone may append a decision or a cancel
// request, which the holder observes at its next renewal.
type Lease struct {
	RunID string `json:"run_id"`
	// Holder names one execution uniquely (host, process and a random
	// part), so that two executions in one process are told apart.
	Holder    string    `json:"holder"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Acquired  time.Time `json:"acquired"`
	Heartbeat time.Time `json:"heartbeat"`
	Expires   time.Time `json:"expires"`
}

// Lease errors.
var (
	// ErrLeaseLost means the lease was taken over or released: the
	// holder must stop executing the run.
	ErrLeaseLost = errors.New("journal: the run's lease was lost")
)

// BusyError is ErrRunBusy with the lease that holds the run.
type BusyError struct {
	Lease Lease
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("journal: run %s is being executed by process %d on %s (lease renewed %s, expires %s)",
		e.Lease.RunID, e.Lease.PID, e.Lease.Host, e.Lease.Heartbeat.UTC().Format(time.RFC3339), e.Lease.Expires.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrRunBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrRunBusy }

// Renewal is what a holder learns when it renews its lease.
type Renewal struct {
	// Cancel is the cancel request recorded for the run, if any: the
	// holder stops the run, which ends cancelled.
	Cancel *CancelRequest
}

// CancelRequest is a recorded request to cancel a run.
type CancelRequest struct {
	Seq int64 // the run.cancel_requested record
}
