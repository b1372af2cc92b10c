package sources

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// verifySSH checks an SSH commit signature with ssh-keygen -Y verify
// against the allowed-signers file, for the signer principal (the
// committer's email), as git verify-commit does with gpg.format=ssh.
func verifySSH(ctx context.Context, allowedSigners, principal, payload, signature, commit string) error {
	dir, err := os.MkdirTemp("", "steward-sig-")
	if err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	defer os.RemoveAll(dir)
	sig := filepath.Join(dir, "sig")
	if err := os.WriteFile(sig, []byte(signature), 0o600); err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	cmd := exec.CommandContext(ctx, "ssh-keygen", "-Y", "verify", "-f", allowedSigners, "-I", principal, "-n", "git", "-s", sig)
	cmd.Stdin = strings.NewReader(payload)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: commit %s: %s", ErrUnsigned, short(commit), strings.TrimSpace(out.String()))
	}
	return nil
}
