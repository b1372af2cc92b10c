package hooks_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Runs executes runs in the background: none may outlive the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
