package pgtest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// fatal records what a test helper failed with.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatal) Helper() {}

// Without a server, the test fails saying how to start one, and never
// shows the URL's password.
func TestURLWithoutServer(t *testing.T) {
	t.Setenv("STEWARD_TEST_DATABASE_URL", "postgres://postgres:hunter2@127.0.0.1:1/test?connect_timeout=5")
	t.Setenv("STEWARD_SKIP_PEERS", "")
	f := &fatal{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		URL(f)
	}()
	<-done
	if !strings.HasPrefix(f.msg, "this test runs against a real PostgreSQL, and none answers at postgres://postgres:xxxxx@127.0.0.1:1/test?connect_timeout=5: ") ||
		!strings.Contains(f.msg, "start one with: make postgres") || strings.Contains(f.msg, "hunter2") {
		t.Fatalf("URL without a server: %q", f.msg)
	}
}

// URL gives a schema of its own, which is the search_path, and drops it
// at the end of the test.
func TestURL(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		u := URL(t)
		c, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		if err := c.QueryRow(context.Background(), `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "steward_test_") {
			t.Fatalf("current_schema() = %q", schema)
		}
	})
	c, err := pgx.Connect(context.Background(), BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("schema %s is still there after its test (%d, %v)", schema, n, err)
	}
}
