//go:build linux && !amd64

package guest

import "golang.org/x/sys/unix"

// getppidLoop calls getppid(2) n times. This Go fallback serves
// architectures without an assembly loop.
func getppidLoop(n uint64) {
	for ; n > 0; n-- {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
}
