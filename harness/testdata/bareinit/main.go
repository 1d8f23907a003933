// Command bareinit is the whole userspace of the bare boot that
// BenchmarkBootOverhead compares kharness against: as /init (PID 1) it
// powers the machine off at once.
package main

import "syscall"

func main() {
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	// PID 1 must not exit: the kernel would panic. Reboot only returns on
	// failure, so wait to be stopped.
	select {}
}
