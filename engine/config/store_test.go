package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/schema"
)

func TestStore(t *testing.T) {
	for _, u := range []string{"postgres://steward@db.internal:5432/steward", "postgresql://db/steward?sslmode=require"} {
		cfg, err := Parse("steward.yaml", []byte("store: "+u+"\n"))
		if err != nil || cfg.Store != u {
			t.Errorf("store: %s: got %q, %v", u, cfg.Store, err)
		}
	}
	if cfg, err := Parse("steward.yaml", []byte("runs: {max_sub_runs: 5}\n")); err != nil || cfg.Store != "" {
		t.Errorf("no store key: %q, %v; want the embedded store", cfg.Store, err)
	}
}

// A store that is not a PostgreSQL URL is named at its line, without
// quoting it: it may hold a password.
func TestStoreInvalid(t *testing.T) {
	const hint = "  hint: write a PostgreSQL URL, postgres://USER@HOST:PORT/DATABASE, or leave store out for the embedded SQLite journal under --home\n"
	for _, tc := range []struct{ src, want string }{
		{"store: mysql://root:hunter2@db/steward\n",
			"steward.yaml:1:8: store: store must be a PostgreSQL URL (postgres://…)\n    1 | store: mysql://root:hunter2@db/steward\n      |        ^\n" + hint},
		{"store: /var/lib/steward\n",
			"steward.yaml:1:8: store: store must be a PostgreSQL URL (postgres://…)\n    1 | store: /var/lib/steward\n      |        ^\n" + hint},
		{"store: [a]\n",
			"steward.yaml:1:8: store: expected a PostgreSQL URL, got a list\n    1 | store: [a]\n      |        ^\n" + hint},
		{"store: 5432\n",
			"steward.yaml:1:8: store: expected a PostgreSQL URL, got an integer\n    1 | store: 5432\n      |        ^\n" + hint},
		{"stor: postgres://db/steward\n",
			"steward.yaml:1:1: stor: unknown key \"stor\"\n    1 | stor: postgres://db/steward\n      | ^\n  hint: did you mean \"store\"?\n"},
	} {
		_, err := Parse("steward.yaml", []byte(tc.src))
		var diags schema.Diagnostics
		if !errors.As(err, &diags) {
			t.Fatalf("%q: %v, want diagnostics", tc.src, err)
		}
		if got := diags.Render(); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
		if msg := err.Error(); strings.Contains(msg, "hunter2") {
			t.Errorf("the error quotes the password: %s", msg)
		}
	}
}
