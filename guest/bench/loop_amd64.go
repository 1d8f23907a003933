//go:build linux

package bench

// asmLoops reports that this architecture has the assembly loops of
// loop_amd64.s and procs_amd64.s.
const asmLoops = true

// getppidLoop calls getppid(2) n times with the SYSCALL instruction, from
// assembly, so that no Go code sits in the measured loop.
func getppidLoop(n uint64)

// sysLoop makes system call nr with the same arguments n times and returns
// the last result (a negative errno on failure).
func sysLoop(n, nr, a1, a2, a3, a4, a5 uintptr) uintptr

// getppidTSCLoop calls getppid n times, storing the time stamp counter's
// ticks around each call at buf[0..n).
func getppidTSCLoop(n uint64, buf *uint32)

// emptyTSCLoop is getppidTSCLoop without the call: what the reads cost.
func emptyTSCLoop(n uint64, buf *uint32)

// rdtsc reads the time stamp counter.
func rdtsc() uint64

// int80Loop calls getppid n times through INT $0x80 and returns the last
// result.
func int80Loop(n uint64) uintptr

// openCloseLoop opens path read-only and closes it n times; it returns 0 or
// the first negative errno.
func openCloseLoop(n uint64, path *byte) uintptr

// selectLoop copies the 128-bit fd set and calls select on it with a zero
// timeout n times, returning the last result.
func selectLoop(n, nfds uintptr, set, work, tv *uint64) uintptr

// mmapLoop maps size bytes of fd shared and read-only, then unmaps them, n
// times; it returns 0 or the first negative errno.
func mmapLoop(n, size, fd uintptr) uintptr

// faultLoop touches n pages of the shared file mapping at base (pages long),
// dropping its PTEs with madvise(MADV_DONTNEED) at the start and after each
// pass, so that every touch is a minor fault.
func faultLoop(n, base, pages uintptr)

// hopLoop does n lat_ctx hops: sum words words of ws, write one byte of buf
// to wfd, read one byte from rfd. It returns the iterations left when a
// read or write failed.
func hopLoop(n, wfd, rfd uintptr, buf *byte, ws *uint32, words uintptr) (left uint64)

// echoLoop is the peer of hopLoop: read a byte, sum, write it back, until
// EOF or an error, whose result it returns.
func echoLoop(rfd, wfd uintptr, buf *byte, ws *uint32, words uintptr) uintptr

// forkEcho forks a peer that closes the nclose descriptors at closefds,
// writes its working set once and runs echoLoop, with every signal blocked
// (all is the full mask); it returns the child's pid or a negative errno.
func forkEcho(rfd, wfd uintptr, buf *byte, ws *uint32, words uintptr, closefds *int32, nclose uintptr, all *uint64) uintptr

// forkLoop forks n children and waits for each; a child execs path with
// argv and envp when path is not nil, else exits at once. It returns 0, a
// negative errno or the first non-zero wait status.
func forkLoop(n uintptr, path *byte, argv, envp *uintptr, status *int32) uintptr

// vdsoLoop calls the vDSO function fn(clock, ts) n times.
func vdsoLoop(n, fn, clock uintptr, ts *byte)

// vsyscallLoop calls gettimeofday(tv, NULL) through the vsyscall page n
// times.
func vsyscallLoop(n uint64, tv *byte)

// sigNop is an empty signal handler and sigReturn its restorer; sigAddrs
// returns their entry points.
func sigNop()
func sigReturn()
func sigAddrs() (handler, restorer uintptr)
