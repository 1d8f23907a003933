package kernels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sharedCache is the cache dir tests share: $KHARNESS_TEST_CACHE, so that
// repeated runs download nothing, or a temp dir for this run.
var sharedCache string

const (
	envChildCache = "KHARNESS_KERNELS_TEST_CHILD_CACHE" // set in re-executed children
	envChildCand  = "KHARNESS_KERNELS_TEST_CHILD_CAND"  // JSON Candidate for the child
)

func TestMain(m *testing.M) {
	sharedCache = os.Getenv("KHARNESS_TEST_CACHE")
	cleanup := func() {}
	if sharedCache == "" && os.Getenv(envChildCache) == "" {
		dir, err := os.MkdirTemp("", "kharness-kernels-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		sharedCache = dir
		cleanup = func() { os.RemoveAll(dir) }
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

var newest61 = sync.OnceValues(func() (Candidate, error) {
	return Resolve(context.Background(), Source{Family: "6.1"})
})

// newestCloud61 is the newest 6.1 cloud kernel package, resolved once per run.
func newestCloud61(t *testing.T) Candidate {
	t.Helper()
	needApt(t)
	cand, err := newest61()
	if err != nil {
		t.Fatalf("Resolve(family 6.1) = %v", err)
	}
	return cand
}

func checkKernel(t *testing.T, k *Kernel, cand Candidate) {
	t.Helper()
	if k.Package != cand.Package || k.Version != cand.Version || k.Source != "family:6.1/cloud-amd64" {
		t.Errorf("kernel %+v does not name %s=%s from family:6.1/cloud-amd64", k, cand.Package, cand.Version)
	}
	if !strings.HasPrefix(k.Release, "6.1.") || k.Release != cand.Release {
		t.Errorf("kernel release %q, want %q (6.1.*)", k.Release, cand.Release)
	}
	img, err := ReadBzImage(k.Path)
	if err != nil {
		t.Fatalf("cached bzImage: %v", err)
	}
	if img.Release != k.Release {
		t.Errorf("bzImage header says %q, kernel says %q", img.Release, k.Release)
	}
	if err := verifySHA256(k.Path, k.SHA256); err != nil {
		t.Errorf("cached bzImage: %v", err)
	}
	if filepath.Base(filepath.Dir(k.Path)) != k.SHA256 {
		t.Errorf("bzImage %s is not under its sha256 %s", k.Path, k.SHA256)
	}
	cfg, err := os.ReadFile(k.ConfigPath)
	if err != nil || !strings.Contains(string(cfg), "CONFIG_") {
		t.Errorf("config %q: %v", k.ConfigPath, err)
	}
}

// TestFetchDebian and TestFetchConcurrent count apt-get downloads in a
// process-wide counter, so they do not run in parallel with each other or
// with any other test that downloads: a download of another test inside
// their window was counted as theirs.
func TestFetchDebian(t *testing.T) {
	cand := newestCloud61(t)
	ctx := t.Context()
	c := &Cache{Dir: sharedCache, KeepDeb: true}
	src := Source{Family: "6.1"}
	k, err := c.Fetch(ctx, cand, src)
	if err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	checkKernel(t, k, cand)

	before, err := os.Stat(k.Path)
	if err != nil {
		t.Fatal(err)
	}
	downloads := debDownloads.Load()
	k2, err := c.Fetch(ctx, cand, src)
	if err != nil {
		t.Fatalf("second Fetch = %v", err)
	}
	if *k2 != *k {
		t.Errorf("second Fetch = %+v, want %+v", k2, k)
	}
	if n := debDownloads.Load() - downloads; n != 0 {
		t.Errorf("second Fetch downloaded %d times, want a cache hit", n)
	}
	after, err := os.Stat(k2.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !before.ModTime().Equal(after.ModTime()) {
		t.Errorf("second Fetch replaced the cached bzImage")
	}

	t.Run("deb is not a bzImage", func(t *testing.T) {
		_, err := ReadBzImage(k.DebPath)
		if !errors.Is(err, ErrNotBzImage) || !strings.Contains(err.Error(), k.DebPath) {
			t.Fatalf("ReadBzImage(%s) = %v, want ErrNotBzImage naming the file", k.DebPath, err)
		}
	})
	t.Run("deb sha256 mismatch", func(t *testing.T) {
		// What fill checks before unpacking, on the real .deb.
		if err := verifySHA256(k.DebPath, cand.SHA256); err != nil {
			t.Fatalf("kept .deb against apt's sha256: %v", err)
		}
		if err := verifySHA256(k.DebPath, strings.Repeat("0", 64)); !errors.Is(err, errSHA256Mismatch) {
			t.Fatalf("kept .deb against a wrong sha256 = %v, want a mismatch", err)
		}
	})
	t.Run("index", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(sharedCache, "kernels", "debian", cacheKey(cand.Package, cand.Version)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var e indexEntry
		if err := json.Unmarshal(b, &e); err != nil || e.SHA256 != k.SHA256 || e.DebSHA256 != cand.SHA256 {
			t.Fatalf("index %s: %v", b, err)
		}
	})
	t.Run("wrong source", func(t *testing.T) {
		if _, err := c.Fetch(ctx, cand, Source{Family: "6.12"}); err == nil {
			t.Fatal("Fetch of a 6.1 package for family 6.12 succeeded")
		}
		if _, err := c.Fetch(ctx, cand, Source{Package: "linux-image-other"}); err == nil {
			t.Fatal("Fetch of a package for another package's source succeeded")
		}
	})
}

type childResult struct {
	Downloads int64
	Kernel    *Kernel
	Err       string
}

// TestFetchChild is the body of the processes TestFetchConcurrent starts.
func TestFetchChild(t *testing.T) {
	dir := os.Getenv(envChildCache)
	if dir == "" {
		t.Skip("only run as a child of TestFetchConcurrent")
	}
	var cand Candidate
	if err := json.Unmarshal([]byte(os.Getenv(envChildCand)), &cand); err != nil {
		t.Fatal(err)
	}
	k, err := (&Cache{Dir: dir}).Fetch(t.Context(), cand, Source{Family: "6.1"})
	res := childResult{Downloads: debDownloads.Load(), Kernel: k}
	if err != nil {
		res.Err = err.Error()
	}
	b, _ := json.Marshal(res)
	fmt.Printf("CHILD %s\n", b)
}

// TestFetchConcurrent fetches one kernel into an empty cache from two
// goroutines and two processes at once: all succeed, one downloads.
func TestFetchConcurrent(t *testing.T) {
	cand := newestCloud61(t)
	dir := t.TempDir()
	candJSON, err := json.Marshal(cand)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	downloads := debDownloads.Load()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []childResult
	)
	for range 2 {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFetchChild$", "-test.v")
			cmd.Env = append(os.Environ(), envChildCache+"="+dir, envChildCand+"="+string(candJSON))
			out, err := cmd.CombinedOutput()
			res := childResult{Err: fmt.Sprintf("child: %v\n%s", err, out)}
			if _, line, ok := strings.Cut(string(out), "CHILD "); err == nil && ok {
				line, _, _ = strings.Cut(line, "\n")
				res = childResult{}
				if err := json.Unmarshal([]byte(line), &res); err != nil {
					res.Err = err.Error()
				}
			}
			mu.Lock()
			results = append(results, res)
			mu.Unlock()
		})
		wg.Go(func() {
			k, err := (&Cache{Dir: dir}).Fetch(ctx, cand, Source{Family: "6.1"})
			res := childResult{Kernel: k}
			if err != nil {
				res.Err = err.Error()
			}
			mu.Lock()
			results = append(results, res)
			mu.Unlock()
		})
	}
	wg.Wait()
	total := debDownloads.Load() - downloads
	for _, r := range results {
		if r.Err != "" {
			t.Fatalf("a concurrent Fetch failed: %s", r.Err)
		}
		total += r.Downloads
		checkKernel(t, r.Kernel, cand)
		if *r.Kernel != *results[0].Kernel {
			t.Errorf("concurrent Fetches disagree: %+v vs %+v", r.Kernel, results[0].Kernel)
		}
	}
	if total != 1 {
		t.Errorf("%d concurrent Fetches downloaded %d times, want 1", len(results), total)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "kernels", "tmp")); len(left) != 0 {
		t.Errorf("tmp holds %d leftovers", len(left))
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("KHARNESS_CACHE", "/a/b")
	if d, err := DefaultCacheDir(); err != nil || d != "/a/b" {
		t.Errorf("with KHARNESS_CACHE: %q, %v", d, err)
	}
	t.Setenv("KHARNESS_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/x")
	if d, err := DefaultCacheDir(); err != nil || d != "/x/kharness" {
		t.Errorf("with XDG_CACHE_HOME: %q, %v", d, err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/h")
	if d, err := DefaultCacheDir(); err != nil || d != "/h/.cache/kharness" {
		t.Errorf("with HOME: %q, %v", d, err)
	}
}
