package smtptest

import "syscall"

// sysProcAttr makes the kernel kill the server if the test binary dies
// without stopping it (a -timeout panic, a kill).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
