package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runs"
)

func newTokensCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Bearer tokens for people and bots using steward serve",
		Long: `Create, list and revoke the bearer tokens steward serve accepts
(Authorization: Bearer TOKEN).

A token authenticates a subject (a person or a bot), recorded as the actor
of everything done with it, and grants it a role on the runbooks matching
a glob: viewer < operator (run) < approver (decide) < author < admin.
steward.yaml's server.grants may grant the subject more.

The token is printed once, when it is created; the journal keeps its
SHA-256 only. Every creation and revocation is a journal record, and a
revocation takes effect on every server sharing the journal within a
second. See docs/tokens.md.`,
	}
	cmd.AddCommand(newTokensCreateCmd(g), newTokensListCmd(g), newTokensRevokeCmd(g))
	return cmd
}

// openTokens opens the journal (see openStore) and the tokens it records.
func openTokens(cmd *cobra.Command, g *globalFlags) (*auth.Tokens, func(), error) {
	store, err := openStore(cmd, g)
	if err != nil {
		return nil, nil, err
	}
	hostname, _ := os.Hostname()
	svc := runs.New(runs.Config{Store: store, Host: hostname, PID: os.Getpid()})
	return auth.NewTokens(auth.TokensConfig{Store: store, Service: svc, Clock: clockwork.NewRealClock()}), func() { release(store) }, nil
}

func newTokensCreateCmd(g *globalFlags) *cobra.Command {
	var role, runbooks, subject, output string
	cmd := &cobra.Command{
		Use:   "create NAME --role ROLE [--runbooks GLOB] [--subject SUBJECT]",
		Short: "Create a token and print it, once",
		Long: `Create a token called NAME and print it on stdout: it is never shown again.

--subject is who the token authenticates (default NAME); --runbooks limits
the role to the runbooks whose name matches the glob (default: every
runbook). A live token of the same name is refused: revoke it first.

Exit status: 0 created, 2 bad input (nothing recorded).`,
		Example: `  steward tokens create ana-laptop --subject ana --role approver --runbooks 'card-*'
  steward tokens create ci --role operator -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return usageError("--role %q: want one of viewer, operator, approver, author, admin", role)
			}
			tokens, closeStore, err := openTokens(cmd, g)
			if err != nil {
				return err
			}
			defer closeStore()
			token, tok, err := tokens.Create(cmd.Context(), auth.CreateRequest{Name: args[0], Subject: subject, Role: r,
				Runbooks: runbooks, Actor: actor("")})
			if err != nil {
				return tokensError(err)
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), struct {
					Secret string `json:"token"`
					*auth.Token
				}{token, tok})
			}
			fmt.Fprintln(cmd.OutOrStdout(), token)
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s created for %s (%s on %s): copy it now, it is not shown again\n",
				printable.Line(tok.Name), printable.Line(tok.Subject), tok.Role, globText(tok.Runbooks))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&role, "role", "", "viewer, operator, approver, author or admin (required)")
	fl.StringVar(&runbooks, "runbooks", "", "the runbooks the role is granted on, a glob such as 'card-*' (default: all)")
	fl.StringVar(&subject, "subject", "", "who the token authenticates (default: NAME)")
	fl.StringVarP(&output, "output", "o", "text", "text or json")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newTokensListCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tokens, live and revoked (never the tokens themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			tokens, closeStore, err := openTokens(cmd, g)
			if err != nil {
				return err
			}
			defer closeStore()
			list, err := tokens.List(cmd.Context())
			if err != nil {
				return tokensError(err)
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSUBJECT\tROLE\tRUNBOOKS\tCREATED BY\tCREATED\tREVOKED")
			for _, t := range list {
				revoked := "-"
				if t.Revoked {
					revoked = t.RevokedAt.Local().Format("2006-01-02 15:04:05") + " by " + printable.Line(t.RevokedBy)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable.Line(t.Name), printable.Line(t.Subject), t.Role,
					printable.Line(globText(t.Runbooks)), printable.Line(t.CreatedBy), t.CreatedAt.Local().Format("2006-01-02 15:04:05"), revoked)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func newTokensRevokeCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token: servers refuse it within a second",
		Long: `Revoke the live token called NAME. The revocation is a journal record;
every server sharing the journal refuses the token within a second.

Exit status: 0 revoked, 2 no live token of that name.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tokens, closeStore, err := openTokens(cmd, g)
			if err != nil {
				return err
			}
			defer closeStore()
			tok, err := tokens.Revoke(cmd.Context(), args[0], actor(""))
			if err != nil {
				return tokensError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s (%s) revoked\n", printable.Line(tok.Name), printable.Line(tok.Subject))
			return nil
		},
	}
}

func globText(glob string) string {
	if glob == "" {
		return "*"
	}
	return glob
}

// tokensError is the exit status of a refused token command: bad input
// is 2, nothing recorded.
func tokensError(err error) error {
	for _, e := range []error{auth.ErrInvalidToken, auth.ErrTokenExists, auth.ErrTokenNotFound, auth.ErrTokenRevoked} {
		if errors.Is(err, e) {
			return &exitError{code: exitInvalid, err: err}
		}
	}
	return &exitError{code: exitFailed, err: err}
}
