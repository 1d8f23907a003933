//go:build linux

package guest

// getppidLoop calls getppid(2) n times with the SYSCALL instruction, from
// assembly, so that no Go code sits in the measured loop.
func getppidLoop(n uint64)
