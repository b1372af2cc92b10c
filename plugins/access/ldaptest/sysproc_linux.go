package ldaptest

import "syscall"

// sysProcAttr makes the kernel kill slapd if the test binary dies without
// stopping it (a -timeout panic, a kill).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
