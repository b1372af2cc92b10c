//go:build !linux

package ldaptest

import "syscall"

// sysProcAttr: only Linux can tie slapd's life to the test binary's.
func sysProcAttr() *syscall.SysProcAttr { return nil }
