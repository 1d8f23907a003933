//go:build linux && !amd64

package bench

import "golang.org/x/sys/unix"

// asmLoops reports that this architecture lacks the assembly loops: only
// the null syscall runs, the rest is skipped.
const asmLoops = false

// getppidLoop calls getppid(2) n times. This Go fallback serves
// architectures without an assembly loop.
func getppidLoop(n uint64) {
	for ; n > 0; n-- {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
}

func noAsm() { panic("guest: assembly loops are amd64-only") }

func sysLoop(n, nr, a1, a2, a3, a4, a5 uintptr) uintptr         { noAsm(); return 0 }
func int80Loop(n uint64) uintptr                                { noAsm(); return 0 }
func getppidTSCLoop(n uint64, buf *uint32)                      { noAsm() }
func emptyTSCLoop(n uint64, buf *uint32)                        { noAsm() }
func rdtsc() uint64                                             { noAsm(); return 0 }
func openCloseLoop(n uint64, path *byte) uintptr                { noAsm(); return 0 }
func selectLoop(n, nfds uintptr, set, work, tv *uint64) uintptr { noAsm(); return 0 }
func mmapLoop(n, size, fd uintptr) uintptr                      { noAsm(); return 0 }
func faultLoop(n, base, pages uintptr)                          { noAsm() }
func hopLoop(n, wfd, rfd uintptr, buf *byte, ws *uint32, words uintptr) uint64 {
	noAsm()
	return 0
}
func echoLoop(rfd, wfd uintptr, buf *byte, ws *uint32, words uintptr) uintptr { noAsm(); return 0 }
func forkLoop(n uintptr, path *byte, argv, envp *uintptr, status *int32) uintptr {
	noAsm()
	return 0
}
func forkEcho(rfd, wfd uintptr, buf *byte, ws *uint32, words uintptr, closefds *int32, nclose uintptr, all *uint64) uintptr {
	noAsm()
	return 0
}
func vdsoLoop(n, fn, clock uintptr, ts *byte) { noAsm() }
func vsyscallLoop(n uint64, tv *byte)         { noAsm() }
func sigAddrs() (handler, restorer uintptr)   { noAsm(); return 0, 0 }
