package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/postgres"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

func newMigrateCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move the journal to another store",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newMigrateSQLiteToPostgresCmd(g))
	return cmd
}

func newMigrateSQLiteToPostgresCmd(g *globalFlags) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "sqlite-to-postgres",
		Short: "Copy the embedded journal into an empty PostgreSQL database, chain and all",
		Long: `Copy the embedded journal (HOME/journal.db) into a PostgreSQL database that
holds no journal yet: every record as it is, with its seq and hash, the
runs, the runbook sources, and what refuses duplicates (approval
decisions, schedule slots and webhook keys, cancel requests, ended runs).
The copy is one transaction, verified before it commits: the chain must
hold, with the same last record. Otherwise nothing is copied.

Stop every steward that uses the home first: runs executing while it
copies are not copied past that point, and leases are not copied. Then
point steward at the database (STEWARD_DATABASE_URL, or store: in
steward.yaml). The embedded journal is left as it was.

Exit status: 0 copied and verified; 1 the journal does not verify, or a
store cannot be read or written; 2 bad usage, no journal to copy, or the
database holds a journal already.`,
		Example: `  steward migrate sqlite-to-postgres --to postgres://steward@db.internal:5432/steward
  steward migrate sqlite-to-postgres --from /srv/steward --to "$STEWARD_DATABASE_URL"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				from = g.home
			}
			if to == "" {
				to = os.Getenv("STEWARD_DATABASE_URL")
			}
			if to == "" {
				cfg, err := g.loadConfig(cmd)
				if err != nil {
					return err
				}
				to = cfg.Store
			}
			if to == "" {
				return usageError("--to: name the PostgreSQL database to copy into, postgres://USER@HOST:PORT/DATABASE")
			}
			path := filepath.Join(from, sqlite.DBFile)
			if _, err := os.Stat(path); err != nil {
				return usageError("no journal to copy: %s does not exist (--from names the home that holds it)", path)
			}
			src, err := sqlite.Open(from)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			defer src.Close()
			dst, err := postgres.Open(cmd.Context(), to)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			defer dst.Close()
			stderr := cmd.ErrOrStderr()
			var rep journal.Report
			err = src.Dump(cmd.Context(), func(d journal.Dump) error {
				var err error
				rep, err = dst.CopyFrom(cmd.Context(), d, func(copied, total int64) {
					if total > 5000 {
						fmt.Fprintf(stderr, "copied %d of %d records\n", copied, total)
					}
				})
				return err
			})
			switch {
			case errors.Is(err, postgres.ErrNotEmpty):
				return &exitError{code: exitInvalid, err: err}
			case err != nil:
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "copied %s of %s from %s to PostgreSQL at %s\nverified: last record %d:%s\n",
				plural(rep.Records, "record"), plural(rep.Runs, "run"), path, dst.Addr(), rep.Records, rep.Head)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the home of the embedded journal (default: --home)")
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL database, postgres://USER@HOST:PORT/DATABASE (default: STEWARD_DATABASE_URL, else steward.yaml's store)")
	return cmd
}
