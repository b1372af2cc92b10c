//go:build !linux

package main

import "syscall"

// gethSysProcAttr: only Linux can tie geth's life to the test binary's.
func gethSysProcAttr() *syscall.SysProcAttr { return nil }
