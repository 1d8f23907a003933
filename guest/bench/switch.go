//go:build linux

package bench

import (
	"errors"
	"fmt"
	"time"

	"kharness/guest"

	"golang.org/x/sys/unix"
)

// ctxCases are the lat_ctx rings of the suite, {processes, KiB per
// process}: LMbench's summary columns (2p/0K 2p/16K 2p/64K 8p/16K 8p/64K
// 16p/16K 16p/64K) plus 4p/0K and 16p/0K, which keep a boot under TCG
// within its default deadline where the full 4×3 grid would not.
var ctxCases = [][2]int{{2, 0}, {2, 16}, {2, 64}, {4, 0}, {8, 16}, {8, 64}, {16, 0}, {16, 16}, {16, 64}}

// processBenchmarks are the benchmarks that switch between processes.
func processBenchmarks() []guest.Benchmark {
	bs := []guest.Benchmark{
		{Name: "Fork/then=exit", Start: forkStart(false), Counters: true},
		{Name: "Fork/then=exec", Start: forkStart(true), Counters: true},
		{Name: "PipeRoundTrip/procs=2", Start: pipeStart, Counters: true, Kref: "pipe"},
		{Name: "UnixStreamRoundTrip/procs=2", Start: unixStart, Counters: true},
		{Name: "TCPLoopbackRoundTrip/procs=2", Start: tcpStart, Counters: true},
	}
	for _, c := range ctxCases {
		bs = append(bs, guest.Benchmark{Name: ctxName(c[0], c[1]), Start: ringStart(c[0], c[1]), Counters: true, Kref: ctxKref(c[0], c[1])})
	}
	bs = append(bs, threadBenchmarks()...)
	return append(bs, serveBenchmarks()...)
}

// ctxKref is the C reference's case of the lat_ctx ring of n processes of
// kib KiB: it has the 2-process ring without a working set.
func ctxKref(n, kib int) string {
	if n == 2 && kib == 0 {
		return "ctx"
	}
	return ""
}

// ctxName is the name of the lat_ctx benchmark with n processes of kib KiB.
func ctxName(n, kib int) string { return fmt.Sprintf("CtxSwitch/procs=%d/ws=%dKiB", n, kib) }

// forkStart forks a child that exits at once or execs this program in a
// mode that exits at once (lat_proc fork and exec).
func forkStart(exec bool) func(time.Duration) (*guest.Instance, error) {
	return func(time.Duration) (*guest.Instance, error) {
		var path *byte
		var argv, envp []uintptr
		var keep [][]byte
		if exec {
			p, a0, a1 := cpath(selfExe), cpath("kguest"), cpath(argExit)
			keep = [][]byte{p, a0, a1}
			path = &p[0]
			argv = []uintptr{bp(a0), bp(a1), 0}
		} else {
			argv = []uintptr{0}
		}
		envp = []uintptr{0}
		var status int32
		var last uintptr
		return &guest.Instance{
			Loop: func(n uint64) { last = forkLoop(uintptr(n), path, &argv[0], &envp[0], &status) },
			Err: func() error {
				_ = keep
				if err := errno(last); err != nil {
					return err
				}
				if last != 0 {
					return fmt.Errorf("child wait status %#x", last)
				}
				return nil
			},
		}, nil
	}
}

// pingInstance times 1-byte round trips over wfd and rfd with peers p.
func pingInstance(p *peer, wfd, rfd int, words int, ws []uint32) *guest.Instance {
	// One trip before timing: the peers are running once it returns.
	left := hopLoop(1, uintptr(wfd), uintptr(rfd), &scratch[0], &ws[0], uintptr(words))
	return &guest.Instance{
		Loop: func(n uint64) {
			left = hopLoop(uintptr(n), uintptr(wfd), uintptr(rfd), &scratch[0], &ws[0], uintptr(words))
		},
		Err: func() error {
			if left != 0 {
				return fmt.Errorf("round trip failed with %d to go", left)
			}
			return nil
		},
		Stop:  p.stop,
		Tasks: p.pids,
	}
}

// pipeStart is lat_pipe: a 1-byte round trip over two pipes to a peer
// process.
func pipeStart(time.Duration) (*guest.Instance, error) {
	r1, w1, err := pipe2()
	if err != nil {
		return nil, err
	}
	r2, w2, err := pipe2()
	if err != nil {
		unix.Close(r1)
		unix.Close(w1)
		return nil, err
	}
	p := &peer{closer: []int{w1, r2}}
	err = p.fork(r1, w2, 0, []int{w1, r2})
	unix.Close(r1)
	unix.Close(w2)
	if err != nil {
		p.stop()
		return nil, err
	}
	return pingInstance(p, w1, r2, 0, workingSet(0)), nil
}

// unixStart is lat_unix: a 1-byte round trip over an AF_UNIX stream
// socketpair to a peer process.
func unixStart(time.Duration) (*guest.Instance, error) {
	sv, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	p := &peer{closer: []int{sv[0]}}
	err = p.fork(sv[1], sv[1], 0, []int{sv[0]})
	unix.Close(sv[1])
	if err != nil {
		p.stop()
		return nil, err
	}
	return pingInstance(p, sv[0], sv[0], 0, workingSet(0)), nil
}

// tcpStart is lat_tcp over loopback: a 1-byte round trip on a connected
// TCP socket (TCP_NODELAY) to a peer process. It brings lo up if it is down.
func tcpStart(time.Duration) (*guest.Instance, error) {
	if err := loopbackUp(); err != nil {
		return nil, err
	}
	a, b, err := tcpPair()
	if err != nil {
		return nil, err
	}
	p := &peer{closer: []int{a}}
	err = p.fork(b, b, 0, []int{a})
	unix.Close(b)
	if err != nil {
		p.stop()
		return nil, err
	}
	return pingInstance(p, a, a, 0, workingSet(0)), nil
}

// loopbackUp sets IFF_UP on lo when it is down (u-root's init does not).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	if ifr.Uint16()&unix.IFF_UP != 0 {
		return nil
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// tcpPair returns the two ends of a TCP connection over 127.0.0.1, both
// blocking, with TCP_NODELAY.
func tcpPair() (a, b int, err error) {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, err
	}
	if err := unix.Listen(ln, 1); err != nil {
		return -1, -1, err
	}
	sa, err := unix.Getsockname(ln)
	if err != nil {
		return -1, -1, err
	}
	if a, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return -1, -1, err
	}
	if err := unix.Connect(a, sa); err != nil {
		unix.Close(a)
		return -1, -1, err
	}
	if b, _, err = unix.Accept4(ln, unix.SOCK_CLOEXEC); err != nil {
		unix.Close(a)
		return -1, -1, err
	}
	for _, fd := range []int{a, b} {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	return a, b, nil
}

// hopOverhead is lat_ctx's overhead: one process summing its working set,
// writing a byte to its own pipe and reading it back, hot. It returns the
// loop (n hops), its error so far, and a function that closes its pipe.
func hopOverhead(words int) (loop func(uint64), check func() error, done func(), err error) {
	r, w, err := pipe2()
	if err != nil {
		return nil, nil, nil, err
	}
	ws := workingSet(words)
	var left uint64
	loop = func(n uint64) {
		left = hopLoop(uintptr(n), uintptr(w), uintptr(r), &scratch[0], &ws[0], uintptr(words))
	}
	check = func() error {
		if left != 0 {
			return fmt.Errorf("overhead loop failed with %d to go", left)
		}
		return nil
	}
	return loop, check, func() { unix.Close(r); unix.Close(w) }, nil
}

// withOverhead makes in subtract lat_ctx's hop overhead, timed beside
// every sample (see Instance.OverheadLoop).
func withOverhead(in *guest.Instance, words int) (*guest.Instance, error) {
	loop, check, done, err := hopOverhead(words)
	if err != nil {
		if in.Stop != nil {
			in.Stop()
		}
		return nil, err
	}
	stop, errf := in.Stop, in.Err
	in.OverheadLoop = loop
	in.Err = func() error {
		var e error
		if errf != nil {
			e = errf()
		}
		return errors.Join(e, check())
	}
	in.Stop = func() error {
		done()
		if stop != nil {
			return stop()
		}
		return nil
	}
	return in, nil
}

// ringStart is lat_ctx -s kib n: n processes (this one and n-1 peers) in a
// ring of n pipes pass a byte, each summing its own kib KiB first. One
// iteration is one trip round the ring, n operations; the hop overhead,
// timed beside each sample, is subtracted from each.
func ringStart(n, kib int) func(time.Duration) (*guest.Instance, error) {
	return func(target time.Duration) (*guest.Instance, error) {
		words := kib * 1024 / 4
		rs, ws, err := pipes(n)
		if err != nil {
			return nil, err
		}
		// We write pipe 0 and read pipe n-1; peer k reads k-1, writes k.
		// Every peer starts before we close their ends, so that no
		// descriptor number a peer is told to close is reused meanwhile.
		all := append(append([]int{}, rs...), ws...)
		p := &peer{closer: []int{ws[0], rs[n-1]}}
		for k := 1; k < n && err == nil; k++ {
			err = p.fork(rs[k-1], ws[k], words, all)
		}
		for k := 1; k < n; k++ {
			unix.Close(rs[k-1])
			unix.Close(ws[k])
		}
		if err != nil {
			p.stop()
			return nil, err
		}
		in := pingInstance(p, ws[0], rs[n-1], words, workingSet(words))
		in.Ops = uint64(n)
		return withOverhead(in, words)
	}
}
