package runs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The service starts goroutines (each execution's heartbeat, the
// recorder's timer): none may outlive the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
