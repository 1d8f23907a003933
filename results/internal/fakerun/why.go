package fakerun

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/store"
	"kharness/results/stream"
	"kharness/results/wire"
)

// whySymbols is a small kernel's text symbols.
const whySymbols = `ffffffff81001000 do_syscall_64
ffffffff81001200 __x64_sys_getppid
ffffffff81002000 pti_switch_cr3
ffffffff81e00000 entry_SYSCALL_64
`

// WhyBase and WhyPTI are a null syscall's kernel instructions per call by
// function address (of a small kernel's symbols): WhyPTI adds 4 to the
// entry code and runs 4 in pti_switch_cr3.
var (
	WhyBase = map[uint64]uint64{0xffffffff81e00000: 10, 0xffffffff81001000: 6, 0xffffffff81001200: 5}
	WhyPTI  = map[uint64]uint64{0xffffffff81e00000: 14, 0xffffffff81001000: 6, 0xffffffff81001200: 5, 0xffffffff81002000: 4}
)

// WhyBoot commits boot i of kernel k, config c: a null syscall whose
// kernel runs perCall instructions per call in each function (and user
// more at user addresses), counted over 100 and 200 calls. A profiled
// boot has the plugin's P lines and the guest's symbols.
func WhyBoot(t testing.TB, s *store.Store, k store.KernelInfo, c string, i int, profiled bool, perCall map[uint64]uint64, user uint64) {
	t.Helper()
	a, err := s.NewAttempt(store.CellName(k.Label, c), i, 1)
	if err != nil {
		t.Fatal(err)
	}
	var kernel uint64
	for _, n := range perCall {
		kernel += n
	}
	name := "NullSyscall/call=getppid"
	raw := "insncount 2\nB " + wire.InsnsTag(name) + "\n"
	for _, calls := range []uint64{100, 200, 100, 200} {
		for addr, n := range perCall {
			raw += fmt.Sprintf("P %x %d\n", addr, n*calls)
		}
		raw += fmt.Sprintf("P ffffffff81002010 40\nS %d %d\n", (kernel+user)*calls+40+30, kernel*calls+40)
	}
	if !profiled {
		raw = ""
		for range 2 {
			raw += fmt.Sprintf("S %d %d\nS %d %d\n", (kernel+user)*100+70, kernel*100+40, (kernel+user)*200+70, kernel*200+40)
		}
		raw = "insncount 2\nB " + wire.InsnsTag(name) + "\n" + raw
	}
	body := "kharness-stream: 1\n# insns Benchmark" + name + " iters=100 ops-per-iter=1 reps=2\n"
	if profiled {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write([]byte(whySymbols))
		zw.Close()
		body += stream.KallsymsPrefix + base64.StdEncoding.EncodeToString(z.Bytes()) + "\n"
		body = strings.Replace(body, stream.KallsymsPrefix, "# "+stream.KallsymsPrefix, 1)
	}
	body += fmt.Sprintf("# kharness-end count=0 sha256=%x\n", sha256.Sum256([]byte(body)))
	bench := fmt.Sprintf("BenchmarkNullSyscall/call=getppid 100 %d insns/op %d kinsns/op\nBenchmarkNullSyscall/call=getppid 1000 %d ns/op\n", kernel+user, kernel, 500+i)
	for f, text := range map[string]string{store.RawFile: body, stream.InsnsFile: raw, store.BenchFile: bench} {
		if err := os.WriteFile(a.Path(f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte(bench))
	rec := &store.BootRecord{Kernel: k, Config: store.BootConfig{Name: c}, Boot: i, Accel: "tcg", Status: store.StatusOK,
		BenchSHA256: hex.EncodeToString(sum[:]), Argv: []string{"qemu-system-x86_64", "-plugin", "/cache/insncount.so,out=insns.raw"}}
	if profiled {
		rec.Argv[2] += ",profile=on"
	}
	if err := a.Commit(rec); err != nil {
		t.Fatal(err)
	}
}

// WhyRun is a run of one kernel under default and pti-on, two boots each,
// the first profiled where profile is set: pti-on (WhyPTI) adds 4
// instructions to the entry code, runs 4 in pti_switch_cr3 and 1 more in
// user space.
func WhyRun(t testing.TB, profile bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2 {
		WhyBoot(t, s, store.KernelInfo{Label: "k"}, "default", i, profile && i == 0, WhyBase, 4)
		WhyBoot(t, s, store.KernelInfo{Label: "k"}, "pti-on", i, profile && i == 0, WhyPTI, 5)
	}
	return dir
}
