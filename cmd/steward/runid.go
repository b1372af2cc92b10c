package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runs"
)

// runIDHelp says what a RUN_ID argument may be; the commands that take
// one end their help with it.
const runIDHelp = `RUN_ID is a run's id, or any unique start of it or of its part after a
dash: run 20261121-101502-3fa9c2d1 is also 3fa9c2, 101502-3f or
20261121-1015. A start that several runs share is refused (exit 2) with
the runs it matches. A start of a run's id names the run, not its
sub-runs: a sub-run is named by its own id (3fa9c2d1.STEP).`

// errNoRun starts the error of a run id that matches no run.
var errNoRun = errors.New("no run")

// resolveRunID returns the id of the run that ref names (see runIDHelp and
// runs.Service.Resolve): exit 2 when none or several runs match.
func resolveRunID(cmd *cobra.Command, svc *runs.Service, ref string) (string, error) {
	id, err := svc.Resolve(cmd.Context(), ref)
	if err != nil {
		return "", runIDError(ref, err)
	}
	return id, nil
}

// runIDError is the CLI's error of a ref that names no run, or several
// (exit 2), as runs.Resolve tells it.
func runIDError(ref string, err error) error {
	var amb *runs.AmbiguousError
	switch {
	case errors.Is(err, runs.ErrNotFound):
		return &exitError{code: exitInvalid, err: fmt.Errorf("%w %s in the journal: steward runs lists them", errNoRun, ref)}
	case errors.As(err, &amb):
		return &exitError{code: exitInvalid, err: ambiguous(amb)}
	}
	return &exitError{code: exitFailed, err: err}
}

// ambiguous lists the runs an ambiguous prefix matches.
func ambiguous(e *runs.AmbiguousError) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s; give more of the id:\n", e.Error())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, r := range e.Candidates {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", printable.Line(r.ID), printable.Line(r.Runbook), printable.Line(r.Status),
			r.StartedAt.Local().Format(time.DateTime))
	}
	tw.Flush()
	switch {
	case e.Unread:
		fmt.Fprintf(&b, "  and more than %d others\n", e.More)
	case e.More > 0:
		fmt.Fprintf(&b, "  and %s\n", plural(e.More, "other run"))
	}
	return errors.New(strings.TrimSuffix(b.String(), "\n"))
}
