//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"

	"kharness/guest"

	"golang.org/x/sys/unix"
)

// The seed's subject: serving a file over TCP loopback. A client (the
// timed process) sends a 1-byte request on a connected TCP socket; a server
// (a peer process) answers with the file, one way or another; the client
// reads the whole answer. One iteration is one request: ns/op is the
// latency of a request, MB/s the throughput of one connection doing them
// back to back.
//
// The loops are Go, not assembly: a request costs tens of microseconds
// under TCG (a few natively) and moves at least 4 KiB, against which the
// few nanoseconds of a Go loop round unix.RawSyscall do not show.

// Serving methods. The first two send the body alone, the last two a
// header and the body, as a web server does.
const (
	serveReadWrite  = "read-write"      // pread the file into a buffer, write it
	serveSendfile   = "sendfile"        // sendfile(2) from the file
	serveCork       = "cork-sendfile"   // TCP_CORK, write the header, sendfile the body, uncork
	serveWritevSend = "writev-sendfile" // writev the header (two iovecs), then sendfile the body
)

var (
	serveMethods = []string{serveReadWrite, serveSendfile, serveCork, serveWritevSend}
	serveSizes   = []int{4 << 10, 1 << 20}
)

const argServe = "-kguest-serve" // serve the file on fd 4 over the socket on fd 3: argServe METHOD SIZE

// serveBenchmarks are the file-serving benchmarks.
func serveBenchmarks() []guest.Benchmark {
	var bs []guest.Benchmark
	for _, size := range serveSizes {
		for _, m := range serveMethods {
			bs = append(bs, guest.Benchmark{
				Name:     fmt.Sprintf("FileServe/method=%s/size=%s", m, sizeName(size)),
				Start:    serveStart(m, size),
				Counters: true,
			})
		}
	}
	return bs
}

// sizeName writes a size in KiB or MiB.
func sizeName(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}

// serveHeader is the response header of the header methods, in its two
// iovecs: the status line and the header fields.
func serveHeader(size int) (status, fields []byte) {
	return []byte("HTTP/1.1 200 OK\r\n"),
		[]byte(fmt.Sprintf("Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", size))
}

// serveResponse is the whole answer to one request.
func serveResponse(method string, body []byte) []byte {
	if method != serveCork && method != serveWritevSend {
		return body
	}
	s, f := serveHeader(len(body))
	return append(append(append([]byte{}, s...), f...), body...)
}

// serveBody is the served file's content: a pattern in which a shifted or
// repeated chunk shows.
func serveBody(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(uint32(i) * 2654435761 >> 24) // Knuth's multiplicative hash
	}
	return b
}

// serveStart starts a server peer for method and size and checks one
// answer byte for byte before anything is timed.
func serveStart(method string, size int) func(time.Duration) (*guest.Instance, error) {
	return func(time.Duration) (*guest.Instance, error) {
		body := serveBody(size)
		f, err := os.CreateTemp("", "kguest-serve-")
		if err != nil {
			return nil, err
		}
		os.Remove(f.Name()) // the open descriptors keep it
		defer f.Close()
		if _, err := f.Write(body); err != nil {
			return nil, err
		}
		if err := loopbackUp(); err != nil {
			return nil, err
		}
		a, b, err := tcpPair()
		if err != nil {
			return nil, err
		}
		fd, err := unix.Dup(int(f.Fd()))
		if err != nil {
			unix.Close(a)
			unix.Close(b)
			return nil, err
		}
		unix.CloseOnExec(fd)
		p := &peer{closer: []int{a}}
		if err := p.start([]string{argServe, method, strconv.Itoa(size)}, b, fd); err != nil {
			p.stop()
			return nil, err
		}
		want := serveResponse(method, body)
		got := make([]byte, len(want))
		if err := request(a, got); err != nil {
			p.stop()
			return nil, fmt.Errorf("first request: %w", err)
		}
		if !bytes.Equal(got, want) {
			p.stop()
			return nil, fmt.Errorf("first answer differs from the file (%d bytes, first difference at %d)", len(got), firstDiff(got, want))
		}
		buf := make([]byte, min(len(want), 64<<10))
		var loopErr error
		return &guest.Instance{
			Loop: func(n uint64) {
				for i := uint64(0); i < n && loopErr == nil; i++ {
					loopErr = requestInto(a, buf, len(want))
				}
			},
			Bytes: uint64(len(want)),
			Err:   func() error { return loopErr },
			Stop:  p.stop,
		}, nil
	}
}

// firstDiff is the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// request sends one request on fd and reads the answer into buf, which is
// its exact length.
func request(fd int, buf []byte) error {
	if err := rawWrite(fd, scratch[:1]); err != nil {
		return err
	}
	for got := 0; got < len(buf); {
		n, err := rawRead(fd, buf[got:])
		if err != nil {
			return err
		}
		got += n
	}
	return nil
}

// requestInto sends one request on fd and reads an answer of want bytes
// through buf, reused as a client reusing its buffer would.
func requestInto(fd int, buf []byte, want int) error {
	if err := rawWrite(fd, scratch[:1]); err != nil {
		return err
	}
	for got := 0; got < want; {
		n, err := rawRead(fd, buf[:min(len(buf), want-got)])
		if err != nil {
			return err
		}
		got += n
	}
	return nil
}

// errShort is a peer that closed the connection mid-answer.
var errShort = fmt.Errorf("connection closed mid-answer")

// rawRead is read(2) with no scheduler hooks; 0 bytes is errShort.
func rawRead(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	if n == 0 {
		return 0, errShort
	}
	return int(n), nil
}

// rawWrite writes all of b to fd with write(2).
func rawWrite(fd int, b []byte) error {
	for len(b) > 0 {
		n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e != 0 {
			return e
		}
		b = b[n:]
	}
	return nil
}

// sendfileAll sends size bytes of the file in from offset 0 to out.
func sendfileAll(out, in, size int) error {
	var off int64
	for off < int64(size) {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDFILE, uintptr(out), uintptr(in),
			uintptr(unsafe.Pointer(&off)), uintptr(int64(size)-off), 0, 0)
		if e != 0 {
			return fmt.Errorf("sendfile: %w", e)
		}
		if n == 0 {
			return fmt.Errorf("sendfile: file shorter than %d bytes", size)
		}
	}
	return nil
}

// corkOn and corkOff are TCP_CORK's values, at fixed addresses.
var corkOn, corkOff int32 = 1, 0

// setCork sets TCP_CORK on fd.
func setCork(fd int, v *int32) error {
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_CORK,
		uintptr(unsafe.Pointer(v)), 4, 0)
	if e != 0 {
		return fmt.Errorf("TCP_CORK: %w", e)
	}
	return nil
}

// runServer is the server peer: one answer per request byte on fd 3, the
// file on fd 4, until the client closes the connection.
func runServer(args []string) int {
	lockAndNoGC()
	if len(args) != 2 {
		fmt.Fprintf(os.Stderr, "kguest server: want METHOD SIZE, got %q\n", args)
		return 2
	}
	method := args[0]
	size, err := strconv.Atoi(args[1])
	if err != nil || size <= 0 {
		fmt.Fprintf(os.Stderr, "kguest server: bad size %q\n", args[1])
		return 2
	}
	const sock, file = 3, 4
	status, fields := serveHeader(size)
	iov := []unix.Iovec{{Base: &status[0]}, {Base: &fields[0]}}
	iov[0].SetLen(len(status))
	iov[1].SetLen(len(fields))
	hdr := append(append([]byte{}, status...), fields...)
	var body []byte
	if method == serveReadWrite {
		body = make([]byte, size)
	}
	req := make([]byte, 1)
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, sock, uintptr(unsafe.Pointer(&req[0])), 1)
		if e != 0 {
			fmt.Fprintf(os.Stderr, "kguest server: read request: %v\n", e)
			return 1
		}
		if n == 0 {
			return 0
		}
		switch method {
		case serveReadWrite:
			err = preadAll(file, body)
			if err == nil {
				err = rawWrite(sock, body)
			}
		case serveSendfile:
			err = sendfileAll(sock, file, size)
		case serveCork:
			err = setCork(sock, &corkOn)
			if err == nil {
				err = rawWrite(sock, hdr)
			}
			if err == nil {
				err = sendfileAll(sock, file, size)
			}
			if err == nil {
				err = setCork(sock, &corkOff)
			}
		case serveWritevSend:
			err = writevAll(sock, iov, len(hdr))
			if err == nil {
				err = sendfileAll(sock, file, size)
			}
		default:
			err = fmt.Errorf("unknown method %q", method)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "kguest server %s: %v\n", method, err)
			return 1
		}
	}
}

// preadAll fills b from offset 0 of fd.
func preadAll(fd int, b []byte) error {
	for got := 0; got < len(b); {
		n, _, e := unix.RawSyscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&b[got])),
			uintptr(len(b)-got), uintptr(got), 0, 0)
		if e != 0 {
			return fmt.Errorf("pread: %w", e)
		}
		if n == 0 {
			return fmt.Errorf("pread: file shorter than %d bytes", len(b))
		}
		got += int(n)
	}
	return nil
}

// writevAll writes the iovecs, total bytes in all; a short writev (a full
// socket buffer, not expected for a header) is an error rather than a
// resumed write, which would not be the one-call path being measured.
func writevAll(fd int, iov []unix.Iovec, total int) error {
	n, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return fmt.Errorf("writev: %w", e)
	}
	if int(n) != total {
		return fmt.Errorf("writev: wrote %d of %d bytes", n, total)
	}
	return nil
}
