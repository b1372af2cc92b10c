package main

import (
	"bufio"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/evidence"
	"github.com/stewardhq/steward/engine/runs"
)

func newAuditEvidenceCmd(g *globalFlags) *cobra.Command {
	var output, rows string
	cmd := &cobra.Command{
		Use:   "evidence RUN_ID",
		Short: "Write a finished run's evidence (the rows of one output) as JSON or CSV, with its place in the hash chain",
		Long: `Verify the run's records, then write the rows of one of its outputs (a
list of objects; --rows, default evidence) as audit evidence: with the
run's id, runbook, version and actor, every approval decision (who, when,
with which comment, and the record holding it), and the run.finished
record that holds the outputs: its seq and hash, its place in the hash
chain. An auditor checks the file against the journal with
steward audit verify --head SEQ:HASH (the journal must hold that record
with that hash), or against an export (steward audit export --run
RUN_ID), whose run.finished line has that seq and hash.

-o json (the default) writes one JSON document; -o csv one line per row:
run_id, runbook, journal_seq, journal_hash, approved_by and approved_at
(approvals joined with "; "), then the rows' fields by name. A value a
spreadsheet would take for a formula is prefixed with '.

The access-review runbook's output evidence holds a decision per
privileged grant (keep, revoke or exception until a date).

Exit status: 0 written; 1 the run's records do not verify (nothing
written); 2 bad usage, an unknown run, a run that has not finished, or
an output that is not a list of objects.`,
		Example: `  steward audit evidence 20261207-090000-3fa9c2d1 -o csv > access-review-2026-12-07.csv
  steward audit evidence 20261207-090000-3fa9c2d1 > access-review-2026-12-07.json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunID(g, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := localOnly(g, "audit evidence"); err != nil {
				return err
			}
			if output != "json" && output != "csv" {
				return usageError("unknown output format %q: use json or csv", output)
			}
			store, err := openStore(cmd, g)
			if err != nil {
				return err
			}
			defer release(store)
			id, err := resolveRunID(cmd, runs.New(runs.Config{Store: store}), args[0])
			if err != nil {
				return err
			}
			doc, err := evidence.Of(cmd.Context(), store, id, rows)
			switch {
			case errors.Is(err, evidence.ErrTampered):
				return &exitError{code: exitFailed, err: fmt.Errorf("nothing written: %w", err)}
			case errors.Is(err, evidence.ErrNotFinished) || errors.Is(err, evidence.ErrNoRows):
				return &exitError{code: exitInvalid, err: err}
			case err != nil:
				return &exitError{code: exitFailed, err: err}
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			if output == "csv" {
				err = doc.WriteCSV(w)
			} else {
				err = doc.WriteJSON(w)
			}
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d rows of run %s, record %d (%s) of the hash chain\n", len(doc.Rows), id, doc.Journal.Seq, doc.Journal.Hash)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "json", "json or csv")
	cmd.Flags().StringVar(&rows, "rows", "evidence", "the run output that holds the rows (a list of objects)")
	return cmd
}
