// Package harnesstest is the boot tests' fixture, shared by harness/vm,
// harness and the jobs' packages: the newest Debian 6.1 cloud kernel and
// the run image, fetched and built once per test binary. It imports
// neither harness nor harness/vm, whose own tests use it.
package harnesstest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kharness/initramfs"
	"kharness/kernels"
)

// QEMU is the QEMU binary the boot tests need: vm.DefaultQEMU, which vm's
// test checks it against (this package cannot import vm).
const QEMU = "qemu-system-x86_64"

// Boot tests run real kernels under TCG. They never skip silently: without
// QEMU they fail (CI installs it), and only -short leaves them out.
var fixture struct {
	once   sync.Once
	kernel *kernels.Kernel
	image  string
	cache  string
	err    error
}

// CacheDir is the tests' kernel cache: $KHARNESS_TEST_CACHE, or the
// user's.
func CacheDir() (string, error) {
	if d := os.Getenv("KHARNESS_TEST_CACHE"); d != "" {
		return d, nil
	}
	return kernels.DefaultCacheDir()
}

// SourceDir is the module's root, found from the test's directory up.
func SourceDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = up
	}
}

// Fixture returns the newest Debian 6.1 cloud kernel and the run image,
// skipping under -short and failing without QEMU.
func Fixture(t testing.TB) (*kernels.Kernel, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a kernel; not in -short mode")
	}
	if _, err := exec.LookPath(QEMU); err != nil {
		t.Fatalf("%s not found: install qemu-system-x86 (make deps)", QEMU)
	}
	fixture.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		fixture.cache, fixture.err = CacheDir()
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
		srcDir, err := SourceDir()
		if err != nil {
			fixture.err = err
			return
		}
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

// Cache is the cache directory Fixture fetched into.
func Cache(t testing.TB) string {
	t.Helper()
	Fixture(t)
	return fixture.cache
}

// Source is SourceDir, failing t where it cannot be found.
func Source(t testing.TB) string {
	t.Helper()
	dir, err := SourceDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
