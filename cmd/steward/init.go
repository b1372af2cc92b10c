package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/config"
)

func newInitCmd(g *globalFlags) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented steward.yaml: the bundled plugins' sandboxes and approval groups",
		Long: `Write steward.yaml (or the file --config names): the configuration of this
installation, commented, with the approval groups the bundled runbooks name
(payments-leads, access-admins, and the access policy's role owners), each
with a placeholder member to replace with real people, and the bundled
plugins configured on their sandboxes.

An existing file is never overwritten, unless --force. The file written is
valid: check it, and the runbooks against it, with steward validate.`,
		Example: `  steward init
  steward init --force
  steward --config /etc/steward/steward.yaml init`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(g.config, flags, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return usageError("%s exists: nothing written (steward init --force overwrites it)", g.config)
			}
			if err != nil {
				return usageError("%v", err)
			}
			if _, err := f.WriteString(config.Template); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: put the real members in approvals.groups, then check it with steward validate\n", g.config)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite the file if it exists")
	return cmd
}
