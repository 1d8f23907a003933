//go:build linux

package bench

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"kharness/guest"

	"golang.org/x/sys/unix"
)

// Thread-to-thread variants of the round trip and of lat_ctx: the peers
// are threads of this process, so a switch between them keeps the address
// space (no CR3 write, no TLB flush). Under TCG a thread switch and a
// process switch differ severalfold; the names say "threads=" so they are
// never read as LMbench's process numbers.
//
// Each peer is a goroutine locked to its own OS thread, running the same
// assembly echo loop as a peer process. The loop blocks in read(2) without
// telling the Go scheduler, so each peer holds a P: GOMAXPROCS is raised
// to the ring's size for the benchmark and restored once every peer has
// returned. Nothing may stop the world in between (the GC is off while a
// benchmark runs); a peer in the assembly loop could not be stopped.

// threadCases are the thread rings, {threads, KiB per thread}.
var threadCases = [][2]int{{2, 0}, {8, 16}}

// threadBenchmarks are the thread-switch benchmarks.
func threadBenchmarks() []guest.Benchmark {
	bs := []guest.Benchmark{{Name: "PipeRoundTrip/threads=2", Start: threadRingStart(2, 0, false), Counters: true, Threads: true}}
	for _, c := range threadCases {
		bs = append(bs, guest.Benchmark{
			Name:     fmt.Sprintf("CtxSwitch/threads=%d/ws=%dKiB", c[0], c[1]),
			Start:    threadRingStart(c[0], c[1], true),
			Counters: true,
			Threads:  true,
		})
	}
	return bs
}

// threadRingStart is a ring of n threads (this one and n-1 peers) passing a
// byte over n pipes, each summing its own kib KiB first. With sub, the hop
// overhead is subtracted and results are per hop, as lat_ctx; without, an
// iteration is one round trip (n = 2: lat_pipe between threads).
func threadRingStart(n, kib int, sub bool) func(time.Duration) (*guest.Instance, error) {
	return func(target time.Duration) (*guest.Instance, error) {
		words := kib * 1024 / 4
		rs, ws, err := pipes(n)
		if err != nil {
			return nil, err
		}
		prev := runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(max(prev, n+1))
		done := make(chan uintptr, n)
		tids := make(chan int, n)
		// Thread k reads pipe k-1 and writes pipe k; we write 0, read n-1.
		for k := 1; k < n; k++ {
			go func(rfd, wfd int) {
				runtime.LockOSThread() // exits with the goroutine
				tids <- unix.Gettid()
				buf := make([]byte, 64)
				w := workingSet(words)
				r := echoLoop(uintptr(rfd), uintptr(wfd), &buf[0], &w[0], uintptr(words))
				unix.Close(rfd)
				unix.Close(wfd) // the next thread sees EOF
				done <- r
			}(rs[k-1], ws[k])
		}
		stop := func() error {
			unix.Close(ws[0])
			unix.Close(rs[n-1])
			var errs []error
			timeout := time.After(10 * time.Second)
			for k := 1; k < n; k++ {
				select {
				case r := <-done:
					if e := errno(r); e != nil {
						errs = append(errs, fmt.Errorf("peer thread: %w", e))
					}
				case <-timeout:
					// A thread stuck in the loop holds its P: the world
					// cannot be stopped to shrink GOMAXPROCS again.
					return errors.Join(append(errs, fmt.Errorf("%d peer threads did not end within 10 s", n-k))...)
				}
			}
			runtime.GOMAXPROCS(prev)
			return errors.Join(errs...)
		}
		in := pingInstance(&peer{}, ws[0], rs[n-1], words, workingSet(words))
		in.Stop = stop
		for k := 1; k < n; k++ {
			in.Tasks = append(in.Tasks, <-tids)
		}
		if sub {
			in.Ops = uint64(n)
			return withOverhead(in, words)
		}
		return in, nil
	}
}
