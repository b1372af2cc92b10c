//go:build !linux

package gethtest

import "syscall"

// sysProcAttr: only Linux can tie geth's life to the test binary's.
func sysProcAttr() *syscall.SysProcAttr { return nil }
