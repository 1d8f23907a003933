package harness

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kharness/harness/internal/harnesstest"
	"kharness/harness/vm"
	"kharness/initramfs"
	"kharness/results/stats"
	"kharness/results/store"
)

// BenchmarkPipeBare answers "is kharness's pipe round trip what a bare
// machine measures?": it boots the same kernel with a bare /init that only
// runs the C reference's lat_pipe (barepipe), and with kharness's image
// running the Go pipe loop and, in the same boot, the same C reference
// (the fidelity check), alternating, and reports the medians: the C loop
// bare, the C loop inside kharness's guest, and kharness's Go loop.
func BenchmarkPipeBare(b *testing.B) {
	k, image := harnesstest.Fixture(b)
	if _, err := exec.LookPath("gcc"); err != nil {
		b.Skip("no gcc: the C reference cannot be built")
	}
	dir := b.TempDir()
	bare := barePipeInitramfs(b, dir)
	var bareNS, cNS, goNS []float64
	for range min(benchBoots(b), 3) {
		bareNS = append(bareNS, barePipeBoot(b, k.Path, bare)...)
		g, c := kharnessPipeBoot(b, k.Path, image)
		goNS, cNS = append(goNS, g...), append(cNS, c...)
	}
	mb, mc, mg := stats.Median(bareNS), stats.Median(cNS), stats.Median(goNS)
	b.ReportMetric(mb/1e3, "bare-c-µs")
	b.ReportMetric(mc/1e3, "kharness-c-µs")
	b.ReportMetric(mg/1e3, "kharness-go-µs")
	b.ReportMetric(mg/mb, "go/bare-c")
	b.ReportMetric(0, "ns/op")
	b.Logf("pipe round trip, %s, medians of %d/%d/%d samples: C in a bare /init %.1f µs; C inside kharness's guest %.1f µs; kharness's Go loop %.1f µs (Go ÷ bare C %.3f)",
		k.Release, len(bareNS), len(cNS), len(goNS), mb/1e3, mc/1e3, mg/1e3, mg/mb)
}

// barePipeInitramfs packs testdata/barepipe as /init and the C reference
// as /kref.
func barePipeInitramfs(b *testing.B, dir string) string {
	b.Helper()
	init := filepath.Join(dir, "init")
	cmd := exec.Command("go", "build", "-trimpath", "-o", init, "./testdata/barepipe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building barepipe: %v\n%s", err, out)
	}
	kref := filepath.Join(dir, "kref")
	if out, err := exec.Command("gcc", "-O2", "-static", "-o", kref, filepath.Join("..", initramfs.KrefSource)).CombinedOutput(); err != nil {
		b.Fatalf("building kref: %v\n%s", err, out)
	}
	return packCPIO(b, filepath.Join(dir, "barepipe.cpio"), dir, "init", "kref")
}

var barePipeRE = regexp.MustCompile(`barepipe ([0-9.]+) ([0-9.]+)`)

// barePipeBoot boots the bare pipe image and returns its samples, ns a
// round trip.
func barePipeBoot(b *testing.B, kernel, initrd string) []float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := bareQEMU(ctx, kernel, initrd, "")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || err != nil {
		b.Fatalf("bare pipe boot: %v\n%s", err, out.Bytes())
	}
	var ns []float64
	for _, m := range barePipeRE.FindAllStringSubmatch(out.String(), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		ns = append(ns, v)
	}
	if len(ns) == 0 || strings.Contains(out.String(), "barepipe error") {
		b.Fatalf("bare pipe boot printed no samples:\n%s", out.Bytes())
	}
	return ns
}

// kharnessPipeBoot boots kharness's image with the pipe benchmark and the
// fidelity check's pipe case, and returns the Go and C samples.
func kharnessPipeBoot(b *testing.B, kernel, image string) (goNS, cNS []float64) {
	b.Helper()
	dir := b.TempDir()
	cfg := &Config{Bench: BenchConfig{Run: "PipeRoundTrip/procs=2/impl=", Benchtime: "150ms", Count: 10}}
	vmo := vm.VMOptions{Kernel: kernel, Initrd: image, Accel: "tcg", Cmdline: cmdline(cfg, BootConfig{}, "")}
	v, err := vm.Boot(context.Background(), vm.BootSpec{VM: vmo, Deadline: 180 * time.Second},
		filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
	if err != nil {
		b.Fatal(err)
	}
	if v.Status != store.StatusOK {
		b.Fatalf("pipe boot: %s: %s", v.Status, v.Reason)
	}
	for _, r := range v.Stream.Results {
		for _, val := range r.Values {
			if val.Unit != "ns/op" {
				continue
			}
			switch {
			case strings.HasSuffix(r.Name, "/impl=go"):
				goNS = append(goNS, val.Value)
			case strings.HasSuffix(r.Name, "/impl=c"):
				cNS = append(cNS, val.Value)
			}
		}
	}
	if len(goNS) == 0 || len(cNS) == 0 {
		b.Fatalf("pipe boot: %d Go and %d C samples", len(goNS), len(cNS))
	}
	return goNS, cNS
}
