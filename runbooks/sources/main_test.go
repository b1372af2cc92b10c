package sources_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (poll loops,
// git processes' pipes, HTTP servers).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
