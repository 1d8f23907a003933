//go:build linux

// Package bench is kguest's suite: each benchmark's set-up and loop (Go
// assembly issuing SYSCALL), its peers and its skip probes. The machinery
// that runs any benchmark (calibration, samples, the count phase, the
// stream, the fidelity check, guest mode) is package guest, which this
// one imports and which never imports it: a new benchmark is an entry in
// Benchmarks and the code it names, here and nowhere else.
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"kharness/guest"

	"golang.org/x/sys/unix"
)

// Suite returns the suite as the machinery takes it (guest.Options.Suite):
// the benchmarks and the header line of the 32-bit helper.
func Suite() guest.Suite {
	return guest.Suite{Benchmarks: Benchmarks(), Header: header}
}

// Benchmarks returns the suite, in the order it runs. Each name says what
// it crosses: the system call and its entry path, or what switches. Where
// the assembly loops are missing, those without a Go loop are skipped.
func Benchmarks() []guest.Benchmark {
	bs := append(append(syscallBenchmarks(), entry32Benchmarks()...), processBenchmarks()...)
	if !asmLoops {
		for i := range bs {
			if bs[i].Loop == nil {
				bs[i].Skip = func() string { return "needs the amd64 assembly loops" }
			}
		}
	}
	return bs
}

// syscallBenchmarks are the benchmarks of one process making system calls.
func syscallBenchmarks() []guest.Benchmark {
	return []guest.Benchmark{
		{Name: "NullSyscall/call=getppid", Loop: getppidLoop, Kref: "null"},
		{Name: "NullSyscall/call=getppid/entry=int80", Loop: func(n uint64) { int80Loop(n) }, Skip: int80Skip},
		{Name: "NullSyscall/call=getppid/timing=percall", Start: percallStart},
		{Name: "ClockGettime/clock=monotonic/entry=vdso", Start: vdsoStart},
		{Name: "ClockGettime/clock=monotonic/entry=syscall", Loop: clockSyscallLoop},
		{Name: "Gettimeofday/entry=vsyscall", Loop: func(n uint64) { vsyscallLoop(n, &scratch[0]) }, Skip: vsyscallSkip},
		{Name: "Read/file=dev-zero/bytes=1", Start: rwStart("/dev/zero", unix.O_RDONLY, unix.SYS_READ), Kref: "read"},
		{Name: "Write/file=dev-null/bytes=1", Start: rwStart("/dev/null", unix.O_WRONLY, unix.SYS_WRITE), Kref: "write"},
		{Name: "Stat/file=tmp", Start: fileStart(statLoop)},
		{Name: "Fstat/file=tmp", Start: fileStart(fstatLoop)},
		{Name: "OpenClose/file=tmp", Start: fileStart(openCloseStart)},
		{Name: "Select/fds=10/type=file", Start: fileStart(selectStart(10))},
		{Name: "Select/fds=100/type=file", Start: fileStart(selectStart(100))},
		{Name: "Poll/fds=10/type=file", Start: fileStart(pollStart(10))},
		{Name: "Poll/fds=100/type=file", Start: fileStart(pollStart(100))},
		{Name: "Sigaction/sig=usr1", Start: sigactionStart},
		{Name: "SignalCatch/sig=usr1", Start: sigCatchStart},
		{Name: "PageFault/mapping=file-shared/size=1MiB", Start: fileStart(faultStart)},
		{Name: "MmapMunmap/mapping=file-shared/size=1MiB", Start: fileStart(mmapStart)},
		{Name: "SchedYield/procs=1", Start: schedYieldStart},
	}
}

// scratch is the buffer the loops read into and write from: a package
// variable, so its address is fixed.
var scratch [4096]byte

// bp returns the address of b[0] as a uintptr for a system call argument.
func bp(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// errno turns a raw system call result into an error, or nil.
func errno(r uintptr) error {
	if e := int(r); e < 0 && e > -4096 {
		return unix.Errno(-e)
	}
	return nil
}

// clockSyscallLoop is clock_gettime(CLOCK_MONOTONIC) as a real system call.
func clockSyscallLoop(n uint64) {
	sysLoop(uintptr(n), unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, bp(scratch[:]), 0, 0, 0)
}

// schedYieldStart yields the CPU with sched_yield(2), the only task of
// this process that runs (its peers are none): the scheduler's full
// pick path, which finds no other task to run and returns.
func schedYieldStart(time.Duration) (*guest.Instance, error) {
	var last uintptr
	return &guest.Instance{
		Loop: func(n uint64) { last = sysLoop(uintptr(n), unix.SYS_SCHED_YIELD, 0, 0, 0, 0, 0) },
		Err:  resultErr(&last),
	}, nil
}

// vdsoStart finds __vdso_clock_gettime and calls it from assembly.
func vdsoStart(time.Duration) (*guest.Instance, error) {
	fn, err := vdsoSymbol("__vdso_clock_gettime")
	if err != nil {
		return nil, err
	}
	return &guest.Instance{Loop: func(n uint64) { vdsoLoop(uintptr(n), fn, unix.CLOCK_MONOTONIC, &scratch[0]) }}, nil
}

// rwStart opens path and makes 1-byte system call nr (read or write) on it.
func rwStart(path string, flag int, nr uintptr) func(time.Duration) (*guest.Instance, error) {
	return func(time.Duration) (*guest.Instance, error) {
		fd, err := unix.Open(path, flag|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		var last uintptr
		return &guest.Instance{
			Loop: func(n uint64) { last = sysLoop(uintptr(n), nr, uintptr(fd), bp(scratch[:]), 1, 0, 0) },
			Err: func() error {
				if e := errno(last); e != nil {
					return e
				}
				return nil
			},
			Stop: func() error { return unix.Close(fd) },
		}, nil
	}
}

// tmpFileSize is the size of the file the file benchmarks use.
const tmpFileSize = 1 << 20

// fileStart creates a 1 MiB temporary file and passes its path and an open
// descriptor to start; the file goes away when the instance stops.
func fileStart(start func(path string, fd int) (*guest.Instance, error)) func(time.Duration) (*guest.Instance, error) {
	return func(time.Duration) (*guest.Instance, error) {
		dir, err := os.MkdirTemp("", "kguest-")
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "file")
		f, err := os.Create(path)
		if err == nil {
			_, err = f.Write(make([]byte, tmpFileSize))
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		in, err := start(path, int(f.Fd()))
		if err != nil {
			f.Close()
			os.RemoveAll(dir)
			return nil, err
		}
		stop := in.Stop
		in.Stop = func() error {
			var err error
			if stop != nil {
				err = stop()
			}
			f.Close()
			os.RemoveAll(dir)
			return err
		}
		return in, nil
	}
}

// cpath returns path as a NUL-terminated byte slice.
func cpath(path string) []byte { return append([]byte(path), 0) }

// resultErr is an Instance.Err for loops that store their last result.
func resultErr(last *uintptr) func() error {
	return func() error { return errno(*last) }
}

// statLoop stats path, with newfstatat as glibc's stat(3) does.
func statLoop(path string, _ int) (*guest.Instance, error) {
	p := cpath(path)
	var last uintptr
	cwd := unix.AT_FDCWD
	return &guest.Instance{
		Loop: func(n uint64) {
			last = sysLoop(uintptr(n), unix.SYS_NEWFSTATAT, uintptr(cwd), bp(p), bp(scratch[:]), 0, 0)
		},
		Err: resultErr(&last),
	}, nil
}

// fstatLoop fstats the open file.
func fstatLoop(_ string, fd int) (*guest.Instance, error) {
	var last uintptr
	return &guest.Instance{
		Loop: func(n uint64) { last = sysLoop(uintptr(n), unix.SYS_FSTAT, uintptr(fd), bp(scratch[:]), 0, 0, 0) },
		Err:  resultErr(&last),
	}, nil
}

// openCloseStart opens and closes path.
func openCloseStart(path string, _ int) (*guest.Instance, error) {
	p := cpath(path)
	var last uintptr
	return &guest.Instance{Loop: func(n uint64) { last = openCloseLoop(n, &p[0]) }, Err: resultErr(&last)}, nil
}

// openN opens path n times read-only and returns the descriptors and a
// function closing them.
func openN(path string, n int) ([]int, func() error, error) {
	var fds []int
	closeAll := func() error {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil
	}
	for i := 0; i < n; i++ {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		fds = append(fds, fd)
	}
	return fds, closeAll, nil
}

// selectSet and selectWork are select's read set (copied into the work
// set before every call, as lat_select does) and selectTV its zero timeout.
var selectSet, selectWork [2]uint64
var selectTV [2]uint64

// selectStart selects for reading on n descriptors of a regular file.
func selectStart(n int) func(string, int) (*guest.Instance, error) {
	return func(path string, _ int) (*guest.Instance, error) {
		fds, closeAll, err := openN(path, n)
		if err != nil {
			return nil, err
		}
		selectSet = [2]uint64{}
		maxfd := 0
		for _, fd := range fds {
			if fd >= 128 {
				closeAll()
				return nil, fmt.Errorf("descriptor %d does not fit the 128-bit select set", fd)
			}
			selectSet[fd/64] |= 1 << (fd % 64)
			maxfd = max(maxfd, fd)
		}
		var last uintptr
		return &guest.Instance{
			Loop: func(k uint64) {
				last = selectLoop(uintptr(k), uintptr(maxfd+1), &selectSet[0], &selectWork[0], &selectTV[0])
			},
			Err: func() error {
				if err := errno(last); err != nil {
					return err
				}
				if int(last) != n {
					return fmt.Errorf("select returned %d ready, want %d", int(last), n)
				}
				return nil
			},
			Stop: closeAll,
		}, nil
	}
}

// pollFds is poll's array.
var pollFds [100]unix.PollFd

// pollStart polls n descriptors of a regular file for reading.
func pollStart(n int) func(string, int) (*guest.Instance, error) {
	return func(path string, _ int) (*guest.Instance, error) {
		fds, closeAll, err := openN(path, n)
		if err != nil {
			return nil, err
		}
		for i, fd := range fds {
			pollFds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		}
		var last uintptr
		return &guest.Instance{
			Loop: func(k uint64) {
				last = sysLoop(uintptr(k), unix.SYS_POLL, uintptr(unsafe.Pointer(&pollFds[0])), uintptr(n), 0, 0, 0)
			},
			Err:  resultErr(&last),
			Stop: closeAll,
		}, nil
	}
}

// faultStart maps the file shared and faults its pages in, one per
// operation (each pass of 256 pages also pays one madvise).
func faultStart(_ string, fd int) (*guest.Instance, error) {
	m, err := unix.Mmap(fd, 0, tmpFileSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return &guest.Instance{
		Loop: func(n uint64) { faultLoop(uintptr(n), bp(m), tmpFileSize/4096) },
		Stop: func() error { return unix.Munmap(m) },
	}, nil
}

// mmapStart maps and unmaps the whole file.
func mmapStart(_ string, fd int) (*guest.Instance, error) {
	var last uintptr
	return &guest.Instance{Loop: func(n uint64) { last = mmapLoop(uintptr(n), tmpFileSize, uintptr(fd)) }, Err: resultErr(&last)}, nil
}
