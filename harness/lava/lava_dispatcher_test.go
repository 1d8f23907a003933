package lava

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kharness/harness/internal/harnesstest"
	"kharness/internal/testenv"
)

// TestLavaRunUnpacked fetches and unpacks Debian's lava-dispatcher into
// the cache (KHARNESS_LAVA=unpacked) and checks that the copy starts and
// that the LAVA modules it runs are the unpacked ones, whatever the system
// has installed: lava-run's own modules come from the cache, and guestfs
// from python3-guestfs or else kharness's stub, which refuses every use.
func TestLavaRunUnpacked(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches Debian packages; not in -short mode")
	}
	cache, err := harnesstest.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(LavaEnv, "unpacked")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := FindLavaRun(ctx, cache)
	if err != nil {
		testenv.Missing(t, err.Error())
	}
	home := filepath.Join(cache, lavaCacheDir)
	if len(r.Argv) != 2 || !strings.HasPrefix(r.Argv[1], home+"/") || filepath.Base(r.Argv[1]) != "lava-run" {
		t.Fatalf("argv %q: want Debian's python3 and the lava-run unpacked under %s", r.Argv, home)
	}
	probe := `import importlib
for m in ("lava_common.log", "lava_dispatcher.parser", "lava_dispatcher_host.action", "guestfs"):
    mod = importlib.import_module(m)
    print(m, mod.__file__)
import guestfs
try:
    guestfs.GuestFS
    print("guestfs usable")
except ImportError as e:
    print("guestfs refused:", e)
`
	cmd := r.Command(ctx)
	cmd.Args = []string{r.Argv[0], "-c", probe}
	cmd.Path = r.Argv[0]
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -c (import lava-run's modules): %v\n%s", r.Shell(), err, out)
	}
	stubbed := false
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && strings.HasPrefix(f[0], "lava_"):
			if !strings.HasPrefix(f[1], home+"/") {
				t.Errorf("module %s loaded from %s; want the copy under %s", f[0], f[1], home)
			}
		case len(f) == 2 && f[0] == "guestfs":
			stubbed = strings.HasPrefix(f[1], home+"/")
		case strings.HasPrefix(l, "guestfs refused:"):
			if !stubbed {
				t.Errorf("the system's guestfs refused use: %s", l)
			}
		case l == "guestfs usable":
			if stubbed {
				t.Errorf("kharness's guestfs stub let GuestFS through")
			}
		default:
			t.Errorf("unexpected probe line %q", l)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(r.Argv[1]))), "..", "stub", "guestfs.py")); err != nil {
		t.Errorf("no guestfs stub beside the unpacked copy: %v", err)
	}
	t.Logf("%s; guestfs stubbed: %v", r.Desc, stubbed)
}
