package schedule

import (
	"errors"
	"fmt"

	"github.com/stewardhq/steward/schema"
)

// Sentinel errors.
var (
	// ErrNotFound: no schedule has the name; see NotFoundError.
	ErrNotFound = errors.New("schedule: no such schedule")
	// ErrStopped: the scheduler was stopped; it fires nothing more.
	ErrStopped = errors.New("schedule: the scheduler is stopped")
)

// NotFoundError names a schedule that does not exist, with the closest
// name when one is likely meant.
type NotFoundError struct {
	Name    string
	Suggest string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("schedule: no schedule named %q", e.Name)
	if e.Suggest != "" {
		msg += fmt.Sprintf("; did you mean %q?", e.Suggest)
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

func notFound(name string, names []string) error {
	return &NotFoundError{Name: name, Suggest: schema.Suggest(name, names)}
}
