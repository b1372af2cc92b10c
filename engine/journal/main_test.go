package journal_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The sqlite store the tests use starts goroutines (database/sql's).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
