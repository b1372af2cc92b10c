package main

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/review"
	"github.com/stewardhq/steward/engine/runs"
)

func newIncidentCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "Post-incident review: the runs of one incident",
	}
	cmd.AddCommand(newIncidentTimelineCmd(g))
	return cmd
}

func newIncidentTimelineCmd(g *globalFlags) *cobra.Command {
	var output, since string
	cmd := &cobra.Command{
		Use:   "timeline ID",
		Short: "Write the timeline of the runs linked to one incident, for its review",
		Long: `Write what a post-incident review needs from the runs of one incident:
what fired, what each step saw, who approved what and when, what was sent
to customers, and every record in the order things happened, with its
run, seq and hash prefix so that the review can be checked against the
journal (steward audit verify). Secrets are "***": they were redacted
before they were stored.

ID is what the runs share as an input: an alert's fingerprint (the
fingerprint input of incident-triage), an incident's id. The runs linked
are those with ID as an input value, and the runs that escalated with one
of the dedupe keys those runs escalated with (alert:FINGERPRINT,
incident:provider:NAME) between the first one's start and the last one's
end: the support runs that commented on the incident's issue. Sub-runs
show as their parent's steps.

Runs started since --since are searched (default: the last 30 days).
Exit status 0, also when no run is linked (the document says so).`,
		Example: `  steward incident timeline 3fa9c2d1e0b74a56 > review.md
  steward incident timeline 3fa9c2d1e0b74a56 --since 2026-12-01 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "markdown" && output != "json" {
				return usageError("unknown output format %q: use markdown or json", output)
			}
			from := time.Now().Add(-30 * 24 * time.Hour)
			if since != "" {
				t, err := parseSince(since)
				if err != nil {
					return err
				}
				from = t
			}
			svc, closeStore, err := openRuns(cmd, g)
			if err != nil {
				return err
			}
			defer closeStore()
			var ids []string
			err = svc.List(cmd.Context(), runs.Filter{Since: from}, func(s runs.Summary) error {
				if s.Parent == "" {
					ids = append(ids, s.ID)
				}
				return nil
			})
			if err != nil {
				return serviceError("", err)
			}
			docs := make([]*runs.Document, 0, len(ids))
			for _, id := range ids {
				run, err := svc.Get(cmd.Context(), id)
				if err != nil {
					return serviceError(id, err)
				}
				docs = append(docs, runs.NewDocument(run.State))
			}
			linked := review.Linked(args[0], docs)
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), struct {
					Incident string           `json:"incident"`
					Runs     []*runs.Document `json:"runs"`
				}{args[0], append([]*runs.Document{}, linked...)})
			}
			return review.WriteIncident(cmd.OutOrStdout(), args[0], linked)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "markdown", "markdown or json")
	cmd.Flags().StringVar(&since, "since", "", "only runs started since this time (RFC 3339 or YYYY-MM-DD); default 30 days ago")
	return cmd
}
