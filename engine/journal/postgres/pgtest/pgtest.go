// Package pgtest gives tests a PostgreSQL store of their own: a fresh
// schema in the test database, dropped when the test ends. The database
// is the machine's PostgreSQL, 127.0.0.1:5432, database test, user
// postgres, or the one STEWARD_TEST_DATABASE_URL names:
//
//	url := pgtest.URL(t) // postgres://…?search_path=steward_test_…
//	s, err := postgres.Open(ctx, url)
//
// Without a server that answers, the test fails saying how to start one
// (make postgres), unless STEWARD_SKIP_PEERS=1 says to skip the tests
// that need a peer.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the test database when STEWARD_TEST_DATABASE_URL is not
// set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseURL is the test database: STEWARD_TEST_DATABASE_URL, or
// DefaultURL.
func BaseURL() string {
	if u := os.Getenv("STEWARD_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// URL makes a schema for the test in the test database and returns the
// database's URL with that schema as its search_path; the schema and
// everything in it are dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("STEWARD_SKIP_PEERS") == "1" {
			t.Skipf("PostgreSQL does not answer and STEWARD_SKIP_PEERS=1: skipping the tests that need it (%v)", err)
		}
		t.Fatalf("this test runs against a real PostgreSQL, and none answers at %s: %v\n"+
			"start one with: make postgres (it installs and starts Debian's postgresql), "+
			"or set STEWARD_TEST_DATABASE_URL to a database the tests may create schemas in", redacted(base), err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	schema := "steward_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("pgtest: creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: STEWARD_TEST_DATABASE_URL must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// redacted is a URL without its password.
func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(the URL)"
	}
	return u.Redacted()
}
