package main

import "syscall"

// gethSysProcAttr makes the kernel kill geth if the test binary dies
// without running TestMain's cleanup (a -timeout panic, a kill).
func gethSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
