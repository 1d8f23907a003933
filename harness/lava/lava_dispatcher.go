package lava

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"kharness/harness/vm"
	"kharness/kernels"
)

// LavaEnv names the environment variable that picks the lava-run a local
// job runs under: "system" (lava-run on PATH, from Debian's
// lava-dispatcher), "unpacked" (kharness's copy, below), or unset: the
// system's where it is on PATH, else the unpacked copy.
const LavaEnv = "KHARNESS_LAVA"

// The unpacked copy. Installing Debian's lava-dispatcher pulls 250
// packages (libguestfs, libvirt, a kernel and its initramfs, ...) that a
// kharness job (tmpfs deploy, boot method qemu, a monitors test) never
// uses. lava-run is Python: the files of lava-dispatcher, lava-common and
// lava-dispatcher-host (whose module lava-dispatcher imports at start) are
// unpacked with dpkg-deb into CACHE/lava/<version>/root, as kharness takes
// kernels out of their packages, and run by Debian's python3 with
// PYTHONPATH on them. The Python modules they import must be installed
// (lavaModules: 19 small packages with their dependencies).
const lavaCacheDir = "lava"

var lavaDebs = []string{"lava-dispatcher", "lava-common", "lava-dispatcher-host"}

// lavaModules are the modules outside Python's standard library that
// lava-run imports for a kharness job, and the Debian packages that have
// them; .ci/deps test installs these.
var lavaModules = map[string]string{
	"yaml": "python3-yaml", "setproctitle": "python3-setproctitle", "requests": "python3-requests",
	"pexpect": "python3-pexpect", "magic": "python3-magic", "configobj": "python3-configobj",
	"netifaces": "python3-netifaces", "pyudev": "python3-pyudev", "jinja2": "python3-jinja2",
	"voluptuous": "python3-voluptuous", "pytz": "python3-tz",
}

// lavaGuestfsStub stands in for libguestfs's Python module where
// python3-guestfs is not installed: lava_dispatcher imports guestfs when it
// loads (utils/filesystem.py, for jobs that write an overlay into a disk
// image) though a kharness job never calls it. Every use of the stub
// raises, so a job that did need libguestfs fails saying so, never
// silently.
const lavaGuestfsStub = `# kharness: stands in for python3-guestfs, which the unpacked lava-run
# imports at start and a kharness job (tmpfs, qemu, monitors) never uses.
def __getattr__(name):
    raise ImportError("guestfs." + name + ": libguestfs is not installed; kharness's unpacked lava-run "
                      "runs tmpfs/qemu jobs only: install lava-dispatcher for this job")
`

// LavaRun is how to run lava-run on this host.
type LavaRun struct {
	Argv []string // lava-run, or Debian's python3 and the unpacked lava-run
	Env  []string // added to the environment: the unpacked copy's PYTHONPATH
	Desc string   // which, for a reader: "lava-run on PATH (/usr/bin/lava-run)", ...
}

// Command is lava-run with args.
func (r *LavaRun) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.Argv[0], append(r.Argv[1:], args...)...)
	cmd.Env = append(os.Environ(), r.Env...)
	return cmd
}

// Shell is the command as the start of a shell line.
func (r *LavaRun) Shell() string {
	var w []string
	for _, kv := range r.Env {
		k, v, _ := strings.Cut(kv, "=")
		w = append(w, k+"="+vm.QuoteArgv([]string{v}))
	}
	return strings.Join(append(w, vm.QuoteArgv(r.Argv)), " ")
}

// FindLavaRun finds the lava-run that LavaEnv asks for, fetching and
// unpacking Debian's lava-dispatcher into cacheDir (default the kernels'
// cache) when it is the unpacked copy, and checks that it starts: a
// Python module it lacks is an error naming the package to install.
func FindLavaRun(ctx context.Context, cacheDir string) (*LavaRun, error) {
	mode := os.Getenv(LavaEnv)
	switch mode {
	case "", "system":
		if p, err := exec.LookPath("lava-run"); err == nil {
			return &LavaRun{Argv: []string{p}, Desc: "lava-run on PATH (" + p + ")"}, nil
		}
		if mode == "system" {
			return nil, fmt.Errorf("%s=system: no lava-run on PATH (apt-get install lava-dispatcher, or unset %s for kharness's unpacked copy)", LavaEnv, LavaEnv)
		}
	case "unpacked":
	default:
		return nil, fmt.Errorf("%s=%q: want system, unpacked or nothing", LavaEnv, mode)
	}
	if cacheDir == "" {
		d, err := kernels.DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		cacheDir = d
	}
	r, err := unpackedLavaRun(ctx, filepath.Join(cacheDir, lavaCacheDir))
	if err != nil {
		return nil, fmt.Errorf("kharness's unpacked lava-run: %w", err)
	}
	return r, checkLavaRun(ctx, r)
}

// unpackedLavaRun is apt's candidate lava-dispatcher unpacked under dir,
// fetched and unpacked there first where it is not yet.
func unpackedLavaRun(ctx context.Context, dir string) (*LavaRun, error) {
	cands, err := kernels.ResolvePackages(ctx, lavaDebs[0])
	if err != nil {
		return nil, err
	}
	version := cands[0].Version
	home := filepath.Join(dir, strings.ReplaceAll(version, ":", "_"))
	if _, err := os.Stat(filepath.Join(home, "root")); err != nil {
		if err := unpackLava(ctx, dir, home, version); err != nil {
			return nil, err
		}
	}
	root := filepath.Join(home, "root")
	script := filepath.Join(root, "usr", "bin", "lava-run")
	python, err := shebang(script)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("%s runs under %s, which is missing: apt-get install python3", script, python)
	}
	path := filepath.Join(root, "usr", "lib", "python3", "dist-packages")
	// The stub only where the real module is missing: PYTHONPATH comes
	// before the system's modules.
	if exec.CommandContext(ctx, python, "-c", "import guestfs").Run() != nil {
		path += string(os.PathListSeparator) + filepath.Join(home, "stub")
	}
	return &LavaRun{
		Argv: []string{python, script},
		Env:  []string{"PYTHONPATH=" + path},
		Desc: "lava-dispatcher " + version + " unpacked in " + home,
	}, nil
}

// unpackLava downloads the packages of lavaDebs at version and unpacks
// them into home/root, with the guestfs stub in home/stub, through a
// temporary directory under dir renamed into place: a fetch that dies
// leaves nothing half-written.
func unpackLava(ctx context.Context, dir, home, version string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(dir, ".unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for _, pkg := range lavaDebs {
		_, deb, err := kernels.DownloadDeb(ctx, filepath.Join(work, "debs", pkg), pkg+"="+version)
		if err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, filepath.Join(work, "root")).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg-deb -x %s: %w: %s", filepath.Base(deb), err, bytes.TrimSpace(out))
		}
	}
	if err := os.RemoveAll(filepath.Join(work, "debs")); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(work, "stub"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "stub", "guestfs.py"), []byte(lavaGuestfsStub), 0o644); err != nil {
		return err
	}
	if err := os.Rename(work, home); err != nil {
		if _, serr := os.Stat(filepath.Join(home, "root")); serr == nil {
			return nil // another process unpacked it first
		}
		return err
	}
	return nil
}

// shebang is the interpreter the script at path names on its first line.
func shebang(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	rest, ok := strings.CutPrefix(line, "#!")
	if f := strings.Fields(rest); ok && len(f) > 0 {
		return f[0], nil
	}
	return "", fmt.Errorf("%s: no #! line naming its interpreter", path)
}

var noModuleRE = regexp.MustCompile(`No module named '([^'.]+)`)

// checkLavaRun runs lava-run --help, which imports all that a job's run
// does, and names the package of a module it lacks.
func checkLavaRun(ctx context.Context, r *LavaRun) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := r.Command(ctx, "--help").CombinedOutput()
	if err == nil {
		return nil
	}
	if m := noModuleRE.FindSubmatch(out); m != nil {
		pkg := lavaModules[string(m[1])]
		if pkg == "" {
			pkg = "python3-" + string(m[1]) + " (a guess)"
		}
		return fmt.Errorf("%s: Python module %s is missing: apt-get install %s (.ci/deps test installs what lava-run imports)", r.Desc, m[1], pkg)
	}
	return fmt.Errorf("%s --help: %w: %s", r.Shell(), err, stringsTail(string(out), 500))
}

func stringsTail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}
