// Command barepipe is the whole userspace of the bare boot that
// BenchmarkPipeBare compares kharness's pipe round trip against: as /init
// (PID 1) it mounts devtmpfs, runs the fidelity check's C reference
// (/kref pipe ITERS: a forked child, two pipes, 1-byte write and read,
// clock_gettime) RUNS times, writes each "NS RAW" line to the console as
// "barepipe NS RAW", and powers off.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

const (
	iters = "2000"
	runs  = 10
)

func main() {
	os.Mkdir("/dev", 0o755)
	syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	con, err := os.OpenFile("/dev/ttyS0", os.O_WRONLY, 0)
	if err != nil {
		con = os.Stderr
	}
	for range runs {
		out, err := exec.Command("/kref", "pipe", iters).Output()
		if err != nil {
			fmt.Fprintf(con, "barepipe error %v\n", err)
			break
		}
		fmt.Fprintf(con, "barepipe %s", out)
	}
	con.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	select {} // PID 1 must not exit
}
