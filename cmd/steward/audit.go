package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/journal"
)

func newAuditCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify the journal's hash chain, or export it for an auditor",
		Long: `The journal is hash-chained: each record holds the SHA-256 of the one
before it, in the whole journal and in its run. Changing, removing,
reordering or inserting a record, or removing a whole run, breaks the
chain; steward audit verify finds the first break and names it.

docs/audit.md describes the record format so that an export can be
checked without Steward.`,
	}
	cmd.AddCommand(newAuditVerifyCmd(g), newAuditExportCmd(g))
	return cmd
}

func newAuditVerifyCmd(g *globalFlags) *cobra.Command {
	var runID, file, output string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the journal (or an export) and name the first bad record",
		Long: `Check every record of the journal under --home: its hash, its link to
the record before it in the journal and in its run, that no record is
missing at the end, and that the list of runs matches the records.
--run checks one run's records and their links into the journal.
--file checks an export made by steward audit export, on its own.

Prints "verified N records in M runs" and the hash of the last record
(keep it elsewhere, e.g. in a ticket: a journal rewritten from the start
would have another). Exit status 1 names the first bad record and why.`,
		Example: `  steward audit verify
  steward audit verify --run 20261121-101502-3fa9c2d1
  steward audit export > journal.jsonl && steward audit verify --file journal.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			var rep journal.Report
			if file != "" {
				if runID != "" {
					return usageError("--file and --run cannot be used together: an export is checked whole")
				}
				f, err := os.Open(file)
				if err != nil {
					return usageError("--file: %v", err)
				}
				defer f.Close()
				rep, err = journal.VerifyFile(f)
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			} else {
				store, err := openStore(g)
				if err != nil {
					return err
				}
				defer store.Close()
				if runID != "" {
					if _, err := loadRun(cmd.Context(), store, runID); err != nil {
						return err
					}
				}
				rep, err = journal.Verify(cmd.Context(), store, runID)
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			}
			return reportVerify(cmd.OutOrStdout(), rep, output)
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "check only this run")
	cmd.Flags().StringVar(&file, "file", "", "check this export (JSON Lines) instead of the journal")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func reportVerify(w io.Writer, rep journal.Report, output string) error {
	if output == "json" {
		doc := map[string]any{"verified": rep.Problem == nil, "records": rep.Records, "runs": rep.Runs, "head": rep.Head}
		if rep.Problem != nil {
			doc["problem"] = rep.Problem.Error()
			doc["seq"] = rep.Problem.Seq
		}
		if err := writeJSON(w, doc); err != nil {
			return err
		}
		if rep.Problem != nil {
			return &exitError{code: exitFailed}
		}
		return nil
	}
	if rep.Problem != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("tampering found after %s: %s", plural(rep.Records, "good record"), rep.Problem.Error())}
	}
	fmt.Fprintf(w, "verified %s in %s\n", plural(rep.Records, "record"), plural(rep.Runs, "run"))
	if rep.Head != "" {
		fmt.Fprintf(w, "last record's hash: %s\n", rep.Head)
	}
	return nil
}

func newAuditExportCmd(g *globalFlags) *cobra.Command {
	var runID, since string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the journal as JSON Lines on stdout, verifiable on its own",
		Long: `Write every record (or one run's, or those since a time) as JSON Lines on
stdout, exactly as stored, then an export.end line that counts them and
holds the last hash, so that a truncated export is detected. Check it with
steward audit verify --file, or without Steward as docs/audit.md shows.`,
		Example: `  steward audit export > journal.jsonl
  steward audit export --run 20261121-101502-3fa9c2d1 > run.jsonl
  steward audit export --since 2026-11-01 | gzip > november.jsonl.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var t time.Time
			if since != "" {
				var err error
				if t, err = parseSince(since); err != nil {
					return err
				}
			}
			store, err := openStore(g)
			if err != nil {
				return err
			}
			defer store.Close()
			if runID != "" {
				if _, err := store.Run(cmd.Context(), runID); err != nil {
					return &exitError{code: exitInvalid, err: fmt.Errorf("no run %s in the journal: steward runs lists them", runID)}
				}
			}
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
			n, err := journal.Export(cmd.Context(), store, w, runID, t)
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %s\n", plural(n, "record"))
			return nil
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "only this run's records")
	cmd.Flags().StringVar(&since, "since", "", "only records since this time (RFC 3339 or YYYY-MM-DD)")
	return cmd
}
