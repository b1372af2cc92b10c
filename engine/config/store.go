package config

import (
	"net/url"

	"gopkg.in/yaml.v3"
)

// The store key of steward.yaml: where the journal is kept.
//
//	store: postgres://steward@db.internal:5432/steward
//
// Left out, the journal is the embedded SQLite store under --home. The
// password is better left out of the file: PostgreSQL's PGPASSWORD and
// ~/.pgpass are read, and STEWARD_DATABASE_URL, which the CLI prefers
// to this key, keeps the whole URL in the environment.

// storeHint is what a store key should hold.
const storeHint = "write a PostgreSQL URL, postgres://USER@HOST:PORT/DATABASE, or leave store out for the embedded SQLite journal under --home"

// store reads the store key: a postgres:// (or postgresql://) URL. The
// message never quotes the value, which may hold a password.
func (l *loader) store(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		l.errorf(n, path, storeHint, "expected a PostgreSQL URL, got %s", kindName(n))
		return
	}
	u, err := url.Parse(n.Value)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		l.errorf(n, path, storeHint, "store must be a PostgreSQL URL (postgres://…)")
		return
	}
	l.cfg.Store = n.Value
}
