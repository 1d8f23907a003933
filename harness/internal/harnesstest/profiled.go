package harnesstest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"kharness/results/store"
	"kharness/results/stream"
	"kharness/results/wire"
)

// ProfiledRun writes into dir a run of kernel label (package version) of
// the boot config "default": two boots of a null syscall, the first
// profiled, whose kernel runs perCall instructions a call in each function
// (the counting plugin's and the guest's files as a profiled boot writes
// them). It returns the kernel as the boots record it.
func ProfiledRun(t testing.TB, dir, label, version string, perCall map[uint64]uint64) store.KernelInfo {
	t.Helper()
	k := store.KernelInfo{Label: label, Package: "linux-image-" + label, Version: version, Release: label}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var kernel uint64
	for _, n := range perCall {
		kernel += n
	}
	name := "NullSyscall/call=getppid"
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte("ffffffff81001000 do_syscall_64\nffffffff81002000 prandom_u32_state\nffffffff81e00000 entry_SYSCALL_64\n"))
	zw.Close()
	for i := range 2 {
		a, err := s.NewAttempt(store.CellName(label, "default"), i, 1)
		if err != nil {
			t.Fatal(err)
		}
		raw := "insncount 2\nB " + wire.InsnsTag(name) + "\n"
		for _, calls := range []uint64{100, 200, 100, 200} {
			for addr, n := range perCall {
				raw += fmt.Sprintf("P %x %d\n", addr, n*calls)
			}
			raw += fmt.Sprintf("S %d %d\n", (kernel+4)*calls, kernel*calls)
		}
		body := "kharness-stream: 1\n# insns Benchmark" + name + " iters=100 ops-per-iter=1 reps=2\n# " + stream.KallsymsPrefix + base64.StdEncoding.EncodeToString(z.Bytes()) + "\n"
		body += fmt.Sprintf("# kharness-end count=0 sha256=%x\n", sha256.Sum256([]byte(body)))
		bench := fmt.Sprintf("Benchmark%s 100 %d insns/op %d kinsns/op\n", name, kernel+4, kernel)
		for f, text := range map[string]string{store.RawFile: body, stream.InsnsFile: raw, store.BenchFile: bench} {
			if err := os.WriteFile(a.Path(f), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		sum := sha256.Sum256([]byte(bench))
		rec := &store.BootRecord{Kernel: k, Config: store.BootConfig{Name: "default"}, Boot: i, Accel: "tcg", Status: store.StatusOK,
			BenchSHA256: hex.EncodeToString(sum[:]), Argv: []string{"qemu-system-x86_64", "-plugin", "insncount.so,out=insns.raw"}}
		if i == 0 {
			rec.Argv[2] += ",profile=on"
		}
		if err := a.Commit(rec); err != nil {
			t.Fatal(err)
		}
	}
	return k
}
