package show

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"kharness/results/stats"
	"kharness/results/store"
	"kharness/results/stream"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/perf/benchunit"
)

// KCIDB's I/O schema version that WriteKCIDB writes: v4.5, the newest of
// major 4 (kernelci/kcidb-io, kcidb_io/schema/v04_05.py).
const (
	KCIDBMajor = 4
	KCIDBMinor = 5
	// KCIDBOrigin names kharness as the CI system that submitted the
	// objects: every id starts with it and a colon.
	KCIDBOrigin = "kharness"
)

// KCIDB is a KCIDB report: the kernels compared as checkouts and builds,
// and each cell's benchmark results as tests.
type KCIDB struct {
	Version   KCIDBVersion    `json:"version"`
	Checkouts []KCIDBCheckout `json:"checkouts"`
	Builds    []KCIDBBuild    `json:"builds"`
	Tests     []KCIDBTest     `json:"tests"`
}

// KCIDBVersion is the schema version of a KCIDB report.
type KCIDBVersion struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
}

// KCIDBCheckout is the source of one kernel: a Debian package's name and
// version, or the git commit of a tree build.
type KCIDBCheckout struct {
	ID            string         `json:"id"`
	Origin        string         `json:"origin"`
	TreeName      string         `json:"tree_name,omitempty"`
	GitCommitHash string         `json:"git_commit_hash,omitempty"`
	GitCommitName string         `json:"git_commit_name,omitempty"`
	Comment       string         `json:"comment,omitempty"`
	Valid         bool           `json:"valid"`
	Misc          map[string]any `json:"misc,omitempty"`
}

// KCIDBBuild is one kernel image and the config it was built with.
type KCIDBBuild struct {
	ID           string         `json:"id"`
	CheckoutID   string         `json:"checkout_id"`
	Origin       string         `json:"origin"`
	Architecture string         `json:"architecture"`
	ConfigName   string         `json:"config_name,omitempty"`
	Comment      string         `json:"comment,omitempty"`
	Valid        bool           `json:"valid"`
	Misc         map[string]any `json:"misc,omitempty"`
}

// KCIDBTest is one benchmark and unit of one kernel and boot config (or
// the boots of the cell themselves, path "kharness.<config>.boot").
type KCIDBTest struct {
	ID          string            `json:"id"`
	BuildID     string            `json:"build_id"`
	Origin      string            `json:"origin"`
	Path        string            `json:"path"`
	Status      string            `json:"status"`
	Number      *KCIDBNumber      `json:"number,omitempty"`
	Environment *KCIDBEnvironment `json:"environment,omitempty"`
	StartTime   string            `json:"start_time,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	Misc        map[string]any    `json:"misc,omitempty"`
}

// KCIDBNumber is a test's numeric result.
type KCIDBNumber struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Prefix string  `json:"prefix,omitempty"` // "metric" or "binary": how a reader scales it for display
}

// KCIDBEnvironment is where a test ran: the guest QEMU made.
type KCIDBEnvironment struct {
	Comment string         `json:"comment,omitempty"`
	Misc    map[string]any `json:"misc,omitempty"`
}

// cellInfo is what the boots of one kernel and config say about them.
type cellInfo struct {
	kernel  store.KernelInfo
	config  store.BootConfig
	started time.Time
	setup   map[string][]string // accel, qemu_version, guest_cpu, host_cpu of its ok boots
}

// WriteKCIDB writes t, the comparison of the run directories dirs, as a
// KCIDB report (indented JSON): the kernels and boot configs are read
// from the boots of dirs.
func WriteKCIDB(w io.Writer, dirs []string, t *stats.Table) error {
	boots, err := store.LoadBoots(dirs...)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(KCIDBReport(boots, t), "", "  ")
	if err != nil {
		return fmt.Errorf("writing KCIDB report: %w", err)
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("writing KCIDB report: %w", err)
	}
	return nil
}

// KCIDBReport returns t, tabulated from boots, as a KCIDB report: a
// checkout and build per kernel, a test per cell (its boots) and per
// cell, benchmark and unit (the median over boots). Test ids carry a hash
// of the boots, so that another run's tests get other ids.
func KCIDBReport(boots []*store.BootRecord, t *stats.Table) *KCIDB {
	k := &KCIDB{Version: KCIDBVersion{KCIDBMajor, KCIDBMinor}, Checkouts: []KCIDBCheckout{}, Builds: []KCIDBBuild{}, Tests: []KCIDBTest{}}
	cells := map[[2]string]*cellInfo{}
	h := sha256.New()
	for _, b := range boots {
		fmt.Fprintf(h, "%s %d %d %s %s\n", b.Cell, b.Boot, b.Attempt, b.Started.Format(time.RFC3339Nano), b.BenchSHA256)
		key := [2]string{b.Kernel.Label, b.Config.Name}
		c := cells[key]
		if c == nil {
			c = &cellInfo{kernel: b.Kernel, config: b.Config, started: b.Started, setup: map[string][]string{}}
			cells[key] = c
		}
		if !b.Started.IsZero() && (c.started.IsZero() || b.Started.Before(c.started)) {
			c.started = b.Started
		}
		if b.Status.OK() {
			for name, v := range map[string]string{"accel": b.Accel, "qemu_version": b.QEMUVersion, "guest_cpu": b.GuestCPU, "host_cpu": b.HostCPU} {
				if v != "" && !slices.Contains(c.setup[name], v) {
					c.setup[name] = append(c.setup[name], v)
				}
			}
		}
	}
	run := hex.EncodeToString(h.Sum(nil))[:16]
	seen := map[string]bool{}
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			ci := cells[[2]string{c.Kernel, c.Config}]
			if ci == nil {
				continue // no boot of the cell in these runs
			}
			if !seen[c.Kernel] {
				seen[c.Kernel] = true
				co, b := kcidbKernel(ci.kernel)
				k.Checkouts, k.Builds = append(k.Checkouts, co), append(k.Builds, b)
			}
			if !seen[c.Kernel+"\x00"+c.Config] {
				seen[c.Kernel+"\x00"+c.Config] = true
				k.Tests = append(k.Tests, kcidbBootTest(run, ci, c))
			}
			if c.Boots > 0 || c.OKBoots == 0 && c.Failed > 0 {
				k.Tests = append(k.Tests, kcidbBenchTest(run, ci, r, c, t))
			}
		}
	}
	return k
}

// treeBuildRE is the directory of a bzImage kharness built from a tree:
// kbuild/bzimage/<commit>[+dirty-<hash>]-<config key>.
var treeBuildRE = regexp.MustCompile(`^([0-9a-f]{40})(\+dirty-[0-9a-f]+)?-([0-9a-f]{16})$`)

// debianFlavourRE takes the version and ABI off a Debian kernel release,
// leaving the flavour: "6.1.0-57-cloud-amd64" → "cloud-amd64".
var debianFlavourRE = regexp.MustCompile(`^[0-9][0-9.]*(\+[^-]+)?(-[0-9]+)?-`)

// kcidbKernel returns the checkout and build of kernel k.
func kcidbKernel(k store.KernelInfo) (KCIDBCheckout, KCIDBBuild) {
	co := KCIDBCheckout{Origin: KCIDBOrigin, Valid: true, Misc: map[string]any{"label": k.Label, "source": k.Source}}
	b := KCIDBBuild{Origin: KCIDBOrigin, Architecture: "x86_64", Valid: true,
		Misc: map[string]any{"label": k.Label, "kernel_release": k.Release, "image_sha256": k.SHA256}}
	path, isFile := strings.CutPrefix(k.Source, "file:")
	tree := treeBuildRE.FindStringSubmatch(filepath.Base(filepath.Dir(path)))
	switch {
	case k.Package != "":
		co.ID = KCIDBOrigin + ":debian:" + k.Package + "_" + k.Version
		co.TreeName, co.Comment = "debian", "Debian package "+k.Package+" "+k.Version
		co.Misc["package"], co.Misc["version"] = k.Package, k.Version
		if k.Suite != "" {
			co.Misc["suite"] = k.Suite
		}
		if f := debianFlavourRE.ReplaceAllString(k.Release, ""); f != k.Release {
			b.ConfigName = f
		}
		b.Comment = "the package's image, built with its /boot/config-" + k.Release
	case isFile && tree != nil:
		co.ID = KCIDBOrigin + ":git:" + tree[1] + tree[2]
		co.GitCommitHash, co.GitCommitName = tree[1], tree[1]+tree[2]
		co.Comment = "a kernel tree's commit, built by kharness"
		if tree[2] != "" {
			co.Comment += " with uncommitted changes (" + tree[2][1:] + ")"
		}
		b.ConfigName = "kharness-qemu-" + tree[3]
		b.Comment = "built by kharness with its QEMU config (key " + tree[3] + "), kept as config beside the image"
		b.Misc["config_path"] = filepath.Join(filepath.Dir(path), "config")
	default:
		co.ID = KCIDBOrigin + ":image:" + cmp.Or(k.SHA256, k.Label)
		co.Comment = "a kernel image given by path: " + k.Source
	}
	b.ID, b.CheckoutID = KCIDBOrigin+":build:"+cmp.Or(k.SHA256, strings.TrimPrefix(co.ID, KCIDBOrigin+":")), co.ID
	return co, b
}

// kcidbTest returns the fields every test of cell c shares.
func kcidbTest(run string, ci *cellInfo, c stats.Cell, leaf string) KCIDBTest {
	_, b := kcidbKernel(ci.kernel)
	te := KCIDBTest{ID: KCIDBOrigin + ":" + run + ":" + store.CellName(c.Kernel, c.Config) + ":" + leaf, BuildID: b.ID, Origin: KCIDBOrigin,
		Path: "kharness." + kcidbPathPart(c.Config) + "." + leaf}
	if !ci.started.IsZero() {
		te.StartTime = ci.started.UTC().Format(time.RFC3339Nano)
	}
	env := map[string]any{"config": c.Config, "cmdline": ci.config.Cmdline}
	if ci.config.CPU != "" {
		env["cpu"] = ci.config.CPU
	}
	for name, vs := range ci.setup {
		env[name] = vs
	}
	te.Environment = &KCIDBEnvironment{Comment: "a QEMU guest booted by kharness: boot config " + c.Config + ", kernel command line " + fmt.Sprintf("%q", ci.config.Cmdline), Misc: env}
	return te
}

// kcidbBootTest is the test of cell c's boots: PASS if any booted and
// reported, else the most common failure.
func kcidbBootTest(run string, ci *cellInfo, c stats.Cell) KCIDBTest {
	te := kcidbTest(run, ci, c, "boot")
	te.Misc = map[string]any{"ok_boots": c.OKBoots, "failed_attempts": c.Failed}
	if c.OKBoots > 0 {
		te.Status = "PASS"
		return te
	}
	te.Status, te.Comment = kcidbStatus(c.Status), c.Reason
	return te
}

// kcidbBenchTest is the test of benchmark row r in cell c: DONE with the
// median over boots, or, where no boot of the cell was ok, its failure.
func kcidbBenchTest(run string, ci *cellInfo, r stats.Row, c stats.Cell, t *stats.Table) KCIDBTest {
	te := kcidbTest(run, ci, c, kcidbPathPart(r.Benchmark)+"."+kcidbPathPart(r.Unit))
	te.ID = KCIDBOrigin + ":" + run + ":" + store.CellName(c.Kernel, c.Config) + ":" + r.Benchmark + ":" + r.Unit
	te.Misc = map[string]any{"benchmark": r.Benchmark, "unit": r.Unit, "boots": c.Boots, "failed_attempts": c.Failed}
	if c.Boots == 0 {
		te.Status, te.Comment = kcidbStatus(c.Status), c.Reason
		return te
	}
	if finite(c.Center) == nil {
		te.Status, te.Comment = "ERROR", "the median over boots is not a finite number"
		return te
	}
	te.Status = "DONE"
	te.Number = kcidbNumber(c.Center, r.Unit)
	te.Misc["median"] = c.Center
	if stream.ExactUnit(r.Unit) {
		te.Comment = "exact count under TCG: guest instructions per operation, median over boots"
	} else {
		te.Comment = fmt.Sprintf("median over boots of each boot's median; %g%% interval in misc", t.Confidence*100)
	}
	for name, v := range map[string]float64{"lo": c.Lo, "hi": c.Hi, "spread": c.Spread} {
		if f := finite(v); f != nil {
			te.Misc[name] = *f
		}
	}
	if c.Call != stats.CallNone && len(t.Columns) > 0 {
		te.Misc["call"], te.Misc["against"] = string(c.Call), t.Columns[0]
		if f := finite(c.Ratio); f != nil {
			te.Misc["ratio"] = *f
		}
	}
	return te
}

// kcidbNumber is v in tidied unit as a KCIDB number: seconds as "s" and
// bytes as "B" with the prefix a reader scales them by; exact counts and
// other units as they are.
func kcidbNumber(v float64, unit string) *KCIDBNumber {
	n := &KCIDBNumber{Value: v, Unit: unit}
	switch {
	case stream.ExactUnit(unit):
	case unit == "sec" || strings.HasPrefix(unit, "sec/"):
		n.Unit, n.Prefix = "s"+strings.TrimPrefix(unit, "sec"), "metric"
	case benchunit.ClassOf(unit) == benchunit.Binary:
		n.Prefix = "binary"
	case strings.HasSuffix(unit, "/s"):
		n.Prefix = "metric"
	}
	return n
}

// kcidbStatus maps a failed cell's most common boot status to a KCIDB
// test status: the kernel's fault (FAIL), the test's or unknown (ERROR),
// or the harness's (MISS).
func kcidbStatus(s store.Status) string {
	switch s {
	case store.StatusPanic, store.StatusOops:
		return "FAIL"
	case store.StatusQEMUFailed, store.StatusQEMUExit, store.StatusInterrupted, store.StatusError:
		return "MISS"
	}
	return "ERROR"
}

// kcidbPathPart makes s one node of a KCIDB test path ([a-zA-Z0-9_-]):
// every other byte becomes '_'.
func kcidbPathPart(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}
