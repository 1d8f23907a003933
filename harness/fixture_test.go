package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kharness/initramfs"
	"kharness/kernels"
)

// Boot tests run real kernels under TCG. They never skip silently: without
// QEMU they fail (CI installs it), and only -short leaves them out.
var fixture struct {
	once   sync.Once
	kernel *kernels.Kernel
	image  string
	cache  string
	err    error
}

func testCacheDir() (string, error) {
	if d := os.Getenv("KHARNESS_TEST_CACHE"); d != "" {
		return d, nil
	}
	return kernels.DefaultCacheDir()
}

// bootFixture returns the newest Debian 6.1 cloud kernel and the image.
func bootFixture(t testing.TB) (*kernels.Kernel, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a kernel; not in -short mode")
	}
	if _, err := exec.LookPath(DefaultQEMU); err != nil {
		t.Fatalf("%s not found: install qemu-system-x86 (make deps)", DefaultQEMU)
	}
	fixture.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		fixture.cache, fixture.err = testCacheDir()
		if fixture.err != nil {
			return
		}
		src := kernels.Source{Family: "6.1", Flavour: "cloud-amd64"}
		cand, err := kernels.Resolve(ctx, src)
		if err != nil {
			fixture.err = err
			return
		}
		c := &kernels.Cache{Dir: fixture.cache}
		if fixture.kernel, fixture.err = c.Fetch(ctx, cand, src); fixture.err != nil {
			return
		}
		srcDir, _ := filepath.Abs("..")
		img, err := initramfs.Build(ctx, initramfs.Options{SourceDir: srcDir, CacheDir: fixture.cache})
		if err != nil {
			fixture.err = err
			return
		}
		fixture.image = img.Path
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return fixture.kernel, fixture.image
}

// testBoot boots the fixture kernel once with extra kernel arguments.
func testBoot(t *testing.T, extra string, deadline time.Duration) *Verdict {
	t.Helper()
	k, img := bootFixture(t)
	dir := t.TempDir()
	cfg := &Config{Bench: BenchConfig{Run: "NullSyscall/call=getppid$", Benchtime: "20ms", Count: 3}}
	vm := VMOptions{Kernel: k.Path, Initrd: img, Accel: "tcg",
		Cmdline: cmdline(cfg, BootConfig{Cmdline: extra}, "")}
	v, err := Boot(context.Background(), BootSpec{VM: vm, Deadline: deadline}, filepath.Join(dir, "console.log"), filepath.Join(dir, "results.raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s in %v: %s", v.Status, v.Wall.Round(time.Millisecond), v.Reason)
	return v
}
