package vm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"kharness/results/store"
	"strings"
	"testing"
	"time"
)

// rawStream builds a results stream as the guest writes it.
func rawStream(results int, countDelta int) []byte {
	var b strings.Builder
	b.WriteString("kharness-stream: 1\nkernel-release: 6.1.0-56-cloud-amd64\n")
	for i := 0; i < results; i++ {
		fmt.Fprintf(&b, "BenchmarkNullSyscall/call=getppid 1000 %d.5 ns/op\n", 460+i)
	}
	sum := sha256.Sum256([]byte(b.String()))
	fmt.Fprintf(&b, "# kharness-end count=%d sha256=%s\n", results+countDelta, hex.EncodeToString(sum[:]))
	return []byte(b.String())
}

// TestJudge covers the verdicts that a real boot cannot be made to produce
// here (an oops that the kernel survives: these kernels have no LKDTM and
// panic_on_oops off) and the order in which causes explain each other.
func TestJudge(t *testing.T) {
	good := rawStream(3, 0)
	for _, tc := range []struct {
		name  string
		v     Verdict
		in    judgeInput
		want  store.Status
		clean bool // a stream is attached
	}{
		{"ok", Verdict{}, judgeInput{shutdown: true, raw: good}, store.StatusOK, true},
		{"oops taints a complete stream", Verdict{Oops: []string{"BUG: kernel NULL pointer dereference, address: 0000000000000000"}},
			judgeInput{shutdown: true, raw: good}, store.StatusOops, false},
		{"panic explains a missing stream", Verdict{PanicLines: []string{"Kernel panic - not syncing: Fatal exception"}},
			judgeInput{waitErr: errors.New("exit status 1")}, store.StatusPanic, false},
		{"panic before the deadline is still a panic", Verdict{PanicLines: []string{"Kernel panic - not syncing: x"}},
			judgeInput{timedOut: true}, store.StatusPanic, false},
		{"flood before hang", Verdict{}, judgeInput{timedOut: true, flooded: true}, store.StatusFlood, false},
		{"hang", Verdict{}, judgeInput{timedOut: true, raw: good[:40]}, store.StatusHang, false},
		{"qemu died", Verdict{}, judgeInput{waitErr: errors.New("signal: killed"), stderr: "qemu: fatal: triple fault"}, store.StatusQEMUExit, false},
		{"truncated", Verdict{}, judgeInput{shutdown: true, raw: good[:len(good)-20]}, store.StatusTruncated, false},
		{"miscount", Verdict{}, judgeInput{shutdown: true, raw: rawStream(2, 1)}, store.StatusMiscount, false},
		{"garbage after end", Verdict{}, judgeInput{shutdown: true, raw: append(append([]byte{}, good...), 0xff, 0x00)}, store.StatusGarbled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			tc.in.deadline, tc.in.limit = time.Minute, 1<<20
			judge(&v, tc.in)
			if v.Status != tc.want || (v.Stream != nil) != tc.clean {
				t.Fatalf("status %s (%s), stream %v; want %s, stream %v", v.Status, v.Reason, v.Stream != nil, tc.want, tc.clean)
			}
			if v.Status != store.StatusOK && v.Reason == "" {
				t.Error("a failed boot without a reason")
			}
		})
	}
}
