//go:build linux

package bench

import (
	"context"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"kharness/guest"
)

// TestServeThroughput checks that each file-serving benchmark reports its
// response size as bytes per operation and a throughput that agrees with
// its latency.
func TestServeThroughput(t *testing.T) {
	for _, b := range serveBenchmarks() {
		t.Run(b.Name, func(t *testing.T) {
			var bytes uint64
			err := guest.Measure(context.Background(), b, 2*time.Millisecond, 2,
				func(_ guest.Calibration, in *guest.Instance) error { bytes = in.Bytes; return nil },
				func(s guest.Sample) error {
					var mbs float64
					for _, v := range s.Extra {
						if v.Unit == "MB/s" {
							mbs = v.V
						}
					}
					if want := float64(bytes) / s.NsPerOp * 1e3; math.Abs(mbs-want) > 1e-6*want {
						t.Errorf("MB/s = %v, want %v (%d bytes in %.0f ns)", mbs, want, bytes, s.NsPerOp)
					}
					return nil
				}, nil)
			if err != nil {
				t.Fatal(err)
			}
			size := 4 << 10
			if strings.HasSuffix(b.Name, "1MiB") {
				size = 1 << 20
			}
			hdr := strings.Contains(b.Name, "cork") || strings.Contains(b.Name, "writev")
			switch {
			case !hdr && bytes != uint64(size):
				t.Errorf("body-only answer of %d bytes, want %d", bytes, size)
			case hdr && (bytes <= uint64(size) || bytes > uint64(size)+200):
				t.Errorf("header and body of %d bytes, want %d and a header", bytes, size)
			}
		})
	}
}

// TestServeResponse checks the expected answers byte for byte: the header
// methods start with the HTTP header, whose Content-Length is the size.
func TestServeResponse(t *testing.T) {
	body := serveBody(4096)
	if got := serveResponse(serveSendfile, body); string(got) != string(body) {
		t.Error("sendfile answer is not the body")
	}
	got := string(serveResponse(serveCork, body))
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.Contains(got, "Content-Length: 4096\r\n\r\n") ||
		!strings.HasSuffix(got, string(body)) {
		t.Errorf("cork answer starts %q", got[:80])
	}
	big := serveBody(1 << 20)
	for _, k := range []int{1, 256, 4096, 65536, 1<<20 - 16} {
		if string(big[:16]) == string(big[k:k+16]) {
			t.Errorf("body pattern repeats at offset %d", k)
		}
	}
}

// TestRunServerBadArgs checks that a server peer given bad arguments exits
// non-zero with a message instead of serving.
func TestRunServerBadArgs(t *testing.T) {
	for _, args := range [][]string{nil, {"sendfile"}, {"sendfile", "x"}, {"sendfile", "-1"}} {
		if rc := runServer(args); rc != 2 {
			t.Errorf("runServer(%q) = %d, want 2", args, rc)
		}
	}
	runtime.UnlockOSThread()
}

// TestThreadRingRestores checks that a thread ring's peers end at Stop and
// GOMAXPROCS comes back to what it was.
func TestThreadRingRestores(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	for _, n := range []int{2, 4} {
		runtime.LockOSThread()
		in, err := threadRingStart(n, 0, true)(time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if got := runtime.GOMAXPROCS(0); got < n+1 {
			t.Errorf("ring of %d: GOMAXPROCS %d while running", n, got)
		}
		in.Loop(50)
		if err := in.Err(); err != nil {
			t.Error(err)
		}
		if err := in.Stop(); err != nil {
			t.Error(err)
		}
		runtime.UnlockOSThread()
		if got := runtime.GOMAXPROCS(0); got != before {
			t.Errorf("ring of %d: GOMAXPROCS %d after stop, want %d", n, got, before)
		}
	}
}
