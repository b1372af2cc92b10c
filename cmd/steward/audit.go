package main

import (
	"bufio"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/checkpoint"
	"github.com/stewardhq/steward/engine/runs"
)

func newAuditCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify the journal's hash chain, export it, or sign checkpoints for an auditor",
		Long: `The journal is hash-chained: each record holds the SHA-256 of the one
before it, in the whole journal and in its run. Changing, removing,
reordering or inserting a record, or removing a whole run, breaks the
chain; steward audit verify finds the first break and names it.

What a chain alone cannot show is a journal rewritten from a record on,
every record after it re-sealed, or its last records removed: pin what
you know from outside it. steward audit verify prints the last record
(SEQ:HASH), which --head checks later; steward audit checkpoint signs
it with a key of its own, which anyone with the public key checks.

docs/audit.md describes the record format so that an export can be
checked without Steward.`,
	}
	cmd.AddCommand(newAuditVerifyCmd(g), newAuditExportCmd(g), newAuditCheckpointCmd(g), newAuditEvidenceCmd(g))
	return cmd
}

func newAuditVerifyCmd(g *globalFlags) *cobra.Command {
	var runID, file, output, head, publicKey string
	var lastSeq int64
	var checkpoints []string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the journal (or an export) and name the first bad record",
		Long: `Check every record of the journal under --home: its hash, its link to
the record before it in the journal and in its run, that no record is
missing at the end, and that the list of runs matches the records: each
run listed, with the status, actor, runbook and times its records say, and
the runbook source each run goes on with, as its run.started names it.
It reads one snapshot: other processes may record runs meanwhile.
--run checks one run's records and their links into the journal.
--file checks an export made by steward audit export, on its own: an
export of the whole journal, or --since a time, must hold every record
of its range.

Prints "verified N records in M runs" and the last record as SEQ:HASH.
Keep it somewhere the journal's writers cannot change (a ticket, an
e-mail): a journal rewritten from a record on, or with its last records
removed, would not match it. Check it later with --head SEQ:HASH (or
only the seq with --last-seq N): the journal, or the export, must hold
that record with that hash.

--checkpoint FILE checks a checkpoint signed by steward audit checkpoint
(repeat it for several): its signature, with --public-key FILE or else
the signing key of this installation, then its record as --head would.
An auditor with only the public key proves so that no record up to the
checkpoint was changed, removed or inserted, whoever rewrote the chain.

Exit status: 0 verified; 1 the first bad record and why, or a checkpoint
whose signature does not verify; 2 bad usage.`,
		Example: `  steward audit verify
  steward audit verify --run 20261121-101502-3fa9c2d1
  steward audit export > journal.jsonl && steward audit verify --file journal.jsonl
  steward audit verify --file journal.jsonl --head 21:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  steward audit verify --file journal.jsonl --checkpoint cp-2026-11-21.json --public-key steward.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			if file != "" && runID != "" {
				return usageError("--file and --run cannot be used together: an export is checked whole")
			}
			pins, err := auditPins(cmd, g, head, lastSeq, checkpoints, publicKey)
			if err != nil {
				return err
			}
			if runID != "" && len(pins) > 0 {
				return usageError("--run checks one run's chain, which --head, --last-seq and --checkpoint do not cover: verify the whole journal, or an export")
			}
			var rep journal.Report
			var last int64
			if c, err := g.remote(); file == "" && (c != nil || err != nil) {
				if err != nil {
					return err
				}
				if len(pins) > 0 {
					return usageError("--head, --last-seq and --checkpoint check a journal here or an export: with --server, check an export (steward audit export > FILE; steward audit verify --file FILE --head ...)")
				}
				v, err := c.Verify(cmd.Context(), runID)
				if err != nil {
					return remoteError(cmd.ErrOrStderr(), runID, err)
				}
				return renderVerified(cmd.OutOrStdout(), *v, nil, output)
			}
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return usageError("--file: %v", err)
				}
				defer f.Close()
				fr, err := journal.VerifyFile(f, pins...)
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				rep, last = fr.Report, fr.LastSeq
			} else {
				store, err := openStore(cmd, g)
				if err != nil {
					return err
				}
				defer store.Close()
				if runID != "" {
					// A run whose summary is gone is still verified by
					// its whole id: Verify names what is missing.
					id, err := resolveRunID(cmd, runs.New(runs.Config{Store: store}), runID)
					var ee *exitError
					if err != nil && !(errors.As(err, &ee) && errors.Is(ee.err, errNoRun)) {
						return err
					}
					if err == nil {
						runID = id
					}
				}
				rep, err = journal.Verify(cmd.Context(), store, runID)
				if errors.Is(err, journal.ErrRunNotFound) {
					// Neither records nor a summary: a run with either
					// is verified, and its missing half named.
					return &exitError{code: exitInvalid, err: fmt.Errorf("no run %s in the journal: steward runs lists them", runID)}
				}
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				if runID == "" {
					// The whole journal verified holds records 1..N.
					last = int64(rep.Records)
					if rep, err = journal.VerifyPins(cmd.Context(), store, rep, pins); err != nil {
						return &exitError{code: exitFailed, err: err}
					}
				}
			}
			return reportVerify(cmd.OutOrStdout(), rep, last, pins, output)
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "check only this run (its id, or a unique start of it)")
	must(cmd.RegisterFlagCompletionFunc("run", completeRunFlag(g)))
	cmd.Flags().StringVar(&file, "file", "", "check this export (JSON Lines) instead of the journal")
	cmd.Flags().StringVar(&head, "head", "", "the last record as an earlier verify printed it, SEQ:HASH: it must be there, with that hash")
	cmd.Flags().Int64Var(&lastSeq, "last-seq", 0, "a record seq the journal (or the export) must reach")
	cmd.Flags().StringArrayVar(&checkpoints, "checkpoint", nil, "a checkpoint file signed by steward audit checkpoint; repeatable")
	cmd.Flags().StringVar(&publicKey, "public-key", "", "the public key (PEM) checkpoints are signed with; default: this installation's signing key")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// auditPins reads --head, --last-seq and --checkpoint into pins, after
// checking each checkpoint's signature.
func auditPins(cmd *cobra.Command, g *globalFlags, head string, lastSeq int64, checkpoints []string, publicKey string) ([]journal.Pin, error) {
	var pins []journal.Pin
	if head != "" {
		p, err := journal.ParsePin(head, "--head")
		if err != nil {
			return nil, usageError("--head: %s", strings.TrimPrefix(err.Error(), "journal: "))
		}
		pins = append(pins, p)
	}
	if cmd.Flags().Changed("last-seq") {
		if lastSeq < 1 {
			return nil, usageError("--last-seq must be 1 or more, got %d", lastSeq)
		}
		pins = append(pins, journal.Pin{Seq: lastSeq, From: "--last-seq"})
	}
	if publicKey != "" && len(checkpoints) == 0 {
		return nil, usageError("--public-key checks checkpoints: give them with --checkpoint FILE")
	}
	if len(checkpoints) == 0 {
		return pins, nil
	}
	pub, err := checkpointPublicKey(cmd, g, publicKey)
	if err != nil {
		return nil, err
	}
	for _, file := range checkpoints {
		c, err := checkpoint.ReadFile(file)
		if err != nil {
			return nil, usageError("--checkpoint %s: %s", file, strings.TrimPrefix(err.Error(), "checkpoint: "))
		}
		if err := c.Verify(pub); err != nil {
			return nil, &exitError{code: exitFailed, err: fmt.Errorf("tampering found: checkpoint %s: %s", file, strings.TrimPrefix(err.Error(), "checkpoint: "))}
		}
		pins = append(pins, c.Pin("checkpoint "+file))
	}
	return pins, nil
}

// checkpointPublicKey is the key of --public-key, or else the public half
// of the signing key.
func checkpointPublicKey(cmd *cobra.Command, g *globalFlags, publicKey string) (ed25519.PublicKey, error) {
	if publicKey != "" {
		b, err := os.ReadFile(publicKey)
		if err != nil {
			return nil, usageError("--public-key: %v", err)
		}
		pub, err := checkpoint.ParsePublicKey(b)
		if err != nil {
			return nil, usageError("--public-key %s: %s", publicKey, strings.TrimPrefix(err.Error(), "checkpoint: "))
		}
		return pub, nil
	}
	path, err := checkpointKeyPath(cmd, g)
	if err != nil {
		return nil, err
	}
	key, err := checkpoint.LoadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError("--checkpoint needs the public key it was signed with: give it with --public-key FILE (steward audit checkpoint --public-key prints it); there is no signing key at %s", path)
	}
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return key.Public().(ed25519.PublicKey), nil
}

// checkpointKeyPath is audit.checkpoint_key of steward.yaml, or the
// signing key's file in --home.
func checkpointKeyPath(cmd *cobra.Command, g *globalFlags) (string, error) {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return "", err
	}
	if cfg.Audit.CheckpointKey != "" {
		return cfg.Audit.CheckpointKey, nil
	}
	return filepath.Join(g.home, checkpoint.KeyFile), nil
}

// reportVerify prints what was verified: last is the last record's seq
// when known, pins what was checked beside the chain.
func reportVerify(w io.Writer, rep journal.Report, last int64, pins []journal.Pin, output string) error {
	v := api.Verified{Verified: rep.Problem == nil, Records: rep.Records, Runs: rep.Runs, Head: rep.Head, LastSeq: last}
	if rep.Problem != nil {
		v.Problem, v.Seq = rep.Problem.Error(), rep.Problem.Seq
	}
	return renderVerified(w, v, pins, output)
}

// renderVerified prints what was verified, here or by --server.
func renderVerified(w io.Writer, rep api.Verified, pins []journal.Pin, output string) error {
	last := rep.LastSeq
	if output == "json" {
		doc := map[string]any{"verified": rep.Verified, "records": rep.Records, "runs": rep.Runs, "head": rep.Head}
		if last > 0 {
			doc["last_seq"] = last
		}
		if len(pins) > 0 {
			checked := make([]map[string]any, len(pins))
			for i, p := range pins {
				checked[i] = map[string]any{"from": p.From, "seq": p.Seq, "hash": p.Hash}
			}
			doc["pins"] = checked
		}
		if !rep.Verified {
			doc["problem"] = rep.Problem
			doc["seq"] = rep.Seq
		}
		if err := writeJSON(w, doc); err != nil {
			return err
		}
		if !rep.Verified {
			return &exitError{code: exitFailed}
		}
		return nil
	}
	if !rep.Verified {
		return &exitError{code: exitFailed, err: fmt.Errorf("tampering found after %s: %s", plural(rep.Records, "good record"), rep.Problem)}
	}
	fmt.Fprintf(w, "verified %s in %s\n", plural(rep.Records, "record"), plural(rep.Runs, "run"))
	switch {
	case last > 0:
		fmt.Fprintf(w, "last record: %d:%s\n", last, rep.Head)
	case rep.Head != "":
		fmt.Fprintf(w, "last record's hash: %s\n", rep.Head)
	}
	for _, p := range pins {
		if p.Hash != "" {
			fmt.Fprintf(w, "record %d matches %s\n", p.Seq, p.From)
		} else {
			fmt.Fprintf(w, "record %d is there, as %s says\n", p.Seq, p.From)
		}
	}
	return nil
}

func newAuditExportCmd(g *globalFlags) *cobra.Command {
	var runID, since string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the journal as JSON Lines on stdout, verifiable on its own",
		Long: `Write every record (or one run's) as JSON Lines on stdout, exactly as
stored, then an export.end line that counts them and holds the last
record's hash and the journal's head, so that a truncated export is
detected. Check it with steward audit verify --file, or without Steward
as docs/audit.md shows.

--since starts at the first record at or after the time and holds every
record after it, whatever its time (times need not rise with seq: a
cancel recorded by another process): a contiguous range, in which a
missing record is found. Records removed at its end, or at its start,
with the export.end line made to match, are found only against what you
kept: verify --head with the last record of the previous export, or a
signed checkpoint.`,
		Example: `  steward audit export > journal.jsonl
  steward audit export --run 20261121-101502-3fa9c2d1 > run.jsonl
  steward audit export --since 2026-11-01 | gzip > november.jsonl.gz
  steward audit verify --file november.jsonl --head 5012:SHA256_OF_RECORD_5012`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var t time.Time
			if since != "" {
				var err error
				if t, err = parseSince(since); err != nil {
					return err
				}
			}
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
			n, err := exportJournal(cmd, g, w, runID, t)
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				return remoteError(cmd.ErrOrStderr(), runID, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %s\n", plural(n, "record"))
			return nil
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "only this run's records (its id, or a unique start of it)")
	must(cmd.RegisterFlagCompletionFunc("run", completeRunFlag(g)))
	cmd.Flags().StringVar(&since, "since", "", "from the first record at or after this time (RFC 3339 or YYYY-MM-DD), and every record after it")
	return cmd
}

// exportJournal writes the export of the journal under --home, or of
// --server's, to w, and returns how many records it holds.
func exportJournal(cmd *cobra.Command, g *globalFlags, w io.Writer, runID string, since time.Time) (int, error) {
	if c, err := g.remote(); c != nil || err != nil {
		if err != nil {
			return 0, err
		}
		return c.Export(cmd.Context(), runID, since, w)
	}
	store, err := openStore(cmd, g)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	if runID != "" {
		if runID, err = resolveRunID(cmd, runs.New(runs.Config{Store: store}), runID); err != nil {
			return 0, err
		}
	}
	return journal.Export(cmd.Context(), store, w, runID, since)
}

func newAuditCheckpointCmd(g *globalFlags) *cobra.Command {
	var publicKey bool
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Sign the journal's last record, so that auditors can prove nothing up to it changes",
		Long: `Verify the whole journal, then sign its last record (seq and hash) and
the time with this installation's Ed25519 key, and print the checkpoint:
one line of JSON (docs/audit.md describes it). Keep checkpoints where the
journal's writers cannot change them, e.g. with the auditors.

steward audit verify --checkpoint FILE --public-key KEY then proves, to
anyone with only the public key, that no record up to the checkpoint was
changed, removed or inserted since: not even by someone who rewrote the
whole chain and re-sealed every record, or removed the last records.

The key is made on first use, mode 0600: checkpoint.key in --home, or
the path audit.checkpoint_key of steward.yaml. Whoever can read it can
sign checkpoints: keep it from the journal's writers where you can.
--public-key prints the public key (PEM), for the auditors.

Exit status: 0 signed; 1 the journal does not verify (nothing signed),
is empty, or the key cannot be read or made.`,
		Example: `  steward audit checkpoint > checkpoint-$(date +%F).json
  steward audit checkpoint --public-key > steward.pub
  steward audit verify --checkpoint checkpoint-2026-11-21.json --public-key steward.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := localOnly(g, "audit checkpoint"); err != nil {
				return err
			}
			path, err := checkpointKeyPath(cmd, g)
			if err != nil {
				return err
			}
			if path == filepath.Join(g.home, checkpoint.KeyFile) {
				if err := os.MkdirAll(g.home, 0o700); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			}
			key, created, err := checkpoint.LoadOrCreateKey(path)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			pub := key.Public().(ed25519.PublicKey)
			if created {
				fmt.Fprintf(cmd.ErrOrStderr(), "made the signing key %s (%s), mode 0600: keep it private\n", path, checkpoint.KeyID(pub))
			}
			if publicKey {
				_, err := cmd.OutOrStdout().Write(checkpoint.MarshalPublicKey(pub))
				return err
			}
			store, err := openStore(cmd, g)
			if err != nil {
				return err
			}
			defer store.Close()
			rep, err := journal.Verify(cmd.Context(), store, "")
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if rep.Problem != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("nothing signed: tampering found after %s: %s", plural(rep.Records, "good record"), rep.Problem.Error())}
			}
			if rep.Records == 0 {
				return &exitError{code: exitFailed, err: errors.New("nothing signed: the journal has no records")}
			}
			// The whole journal verified holds records 1..N.
			seq := int64(rep.Records)
			if r, ok, err := store.Record(cmd.Context(), seq); err != nil || !ok || r.Hash != rep.Head {
				return &exitError{code: exitFailed, err: fmt.Errorf("nothing signed: record %d changed while the journal was verified (%v)", seq, err)}
			}
			c, err := checkpoint.Sign(key, seq, rep.Head, time.Now())
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if _, err := cmd.OutOrStdout().Write(append(c.Line(), '\n')); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "signed record %d (hash %s) with key %s\n", seq, rep.Head, checkpoint.KeyID(pub))
			return nil
		},
	}
	cmd.Flags().BoolVar(&publicKey, "public-key", false, "print the public key (PEM) instead, for auditors")
	return cmd
}
