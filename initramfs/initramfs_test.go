package initramfs

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/u-root/mkuimage/cpio"
)

func TestFindSourceDir(t *testing.T) {
	t.Setenv("KHARNESS_SRC", "")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{".", "../harness", ".."} {
		got, err := FindSourceDir(start)
		if err != nil || got != root {
			t.Errorf("FindSourceDir(%s) = %q, %v; want %q", start, got, err, root)
		}
	}
	if _, err := FindSourceDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "KHARNESS_SRC") {
		t.Errorf("outside the tree: err = %v, want a hint about KHARNESS_SRC", err)
	}
	t.Setenv("KHARNESS_SRC", t.TempDir())
	if _, err := FindSourceDir("."); err == nil {
		t.Error("KHARNESS_SRC pointing at an empty dir accepted")
	}
}

// TestBuildShared builds into an empty cache from two goroutines at once:
// both get the same image, built once; a third call is a cache hit; the run
// image holds the guest as /init and no busybox, the shell image adds
// u-root's init, the guest as its uinit and the shell.
func TestBuildShared(t *testing.T) {
	if testing.Short() {
		t.Skip("builds u-root")
	}
	t.Setenv("KHARNESS_SRC", "")
	src, err := FindSourceDir(".")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	var wg sync.WaitGroup
	imgs := make([]*Image, 2)
	errs := make([]error, 2)
	var logMu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}
	for i := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], errs[i] = Build(t.Context(), Options{SourceDir: src, CacheDir: cache, Log: logf})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The build says which step it is in: the packing, once, by the one
	// that built; a run image compiles no busybox.
	for step, want := range map[string]int{"image: packing the cpio archive": 1, "image: compiling u-root's busybox": 0} {
		if n := countPrefix(logged, step); n != want {
			t.Errorf("%d lines start %q, want %d; the log:\n%s", n, step, want, strings.Join(logged, "\n"))
		}
	}
	if imgs[0].Path != imgs[1].Path || imgs[0].Cached == imgs[1].Cached {
		t.Errorf("two builds: %+v and %+v; want one path, one built and one cached", imgs[0], imgs[1])
	}
	start := time.Now()
	again, err := Build(t.Context(), Options{SourceDir: src, CacheDir: cache})
	if err != nil || !again.Cached || again.Path != imgs[0].Path {
		t.Fatalf("warm build: %+v, %v", again, err)
	}
	t.Logf("warm build (guest compile + hash) took %v", time.Since(start))
	ents, _ := os.ReadDir(filepath.Join(cache, "initramfs"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".build-") {
			t.Errorf("build dir left behind: %s", e.Name())
		}
	}

	run := records(t, imgs[0].Path)
	for _, want := range []string{"init", "bin/kguest", "bin/kguest32"} {
		if _, ok := run[want]; !ok {
			t.Errorf("run image lacks %s", want)
		}
	}
	for name := range run {
		if strings.HasPrefix(name, "bbin") || name == "bin/uinit" {
			t.Errorf("run image holds %s: the busybox belongs in the shell image only", name)
		}
	}
	if got := linkTarget(t, run["init"]); got != GuestPath {
		t.Errorf("run image: /init links to %q, want %s", got, GuestPath)
	}

	logged = nil
	shell, err := BuildShell(t.Context(), Options{SourceDir: src, CacheDir: cache, Log: logf})
	if err != nil {
		t.Fatal(err)
	}
	if shell.Path == imgs[0].Path || shell.Cached {
		t.Errorf("shell image %+v: want a new image beside the run image %s", shell, imgs[0].Path)
	}
	if n := countPrefix(logged, "image: compiling u-root's busybox (16 commands"); n != 1 {
		t.Errorf("the shell image build logged %q; want the busybox step once", logged)
	}
	names := records(t, shell.Path)
	for _, want := range []string{"init", "bin/kguest", "bin/kguest32", "bin/uinit", "bbin/init", "bbin/gosh", "bbin/grep"} {
		if _, ok := names[want]; !ok {
			t.Errorf("shell image lacks %s", want)
		}
	}
	// The kernel starts the guest program; u-root's init (the shell mode's)
	// is where the guest execs it, and it runs the guest as its uinit.
	for name, target := range map[string]string{"init": GuestPath, "bbin/init": "/bbin/bb", "bin/uinit": GuestPath} {
		if got := linkTarget(t, names[name]); got != target {
			t.Errorf("shell image: /%s links to %q, want %s", name, got, target)
		}
	}
	if _, ok := names["inito"]; ok {
		t.Error("shell image renamed the run image's /init to /inito")
	}
	again, err = BuildShell(t.Context(), Options{SourceDir: src, CacheDir: cache})
	if err != nil || !again.Cached || again.Path != shell.Path {
		t.Errorf("second shell build: %+v, %v; want the cached image", again, err)
	}
}

// records reads the cpio archive at path into a map by name.
func records(t *testing.T, path string) map[string]cpio.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]cpio.Record{}
	for _, r := range recs {
		names[r.Name] = r
	}
	return names
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// TestSlowStep checks that a step says what it is only when it lasts:
// a warm build stays quiet.
func TestSlowStep(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}
	slowStep(logf, "quick")()
	done := slowStep(logf, "slow")
	// The step lasts until it has said so (a loaded host runs the timer
	// late), or 30 s.
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(logged)
		mu.Unlock()
		if n > 0 {
			break
		}
	}
	done()
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(logged, ",") != "slow" {
		t.Errorf("logged %q, want only the slow step", logged)
	}
}

// linkTarget is the absolute path the symbolic link r points to, "" when r
// is not a link.
func linkTarget(t *testing.T, r cpio.Record) string {
	if r.Mode&cpio.S_IFMT != cpio.S_IFLNK || r.ReaderAt == nil {
		return ""
	}
	b, err := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
	if err != nil {
		t.Fatal(err)
	}
	if target := string(b); path.IsAbs(target) {
		return target
	}
	return path.Join("/", path.Dir(r.Name), string(b))
}
