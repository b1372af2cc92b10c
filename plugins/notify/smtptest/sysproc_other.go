//go:build !linux

package smtptest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
