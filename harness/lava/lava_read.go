package lava

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kharness/harness"
	"kharness/harness/vm"
	"kharness/results/store"
	"kharness/results/stream"
	"kharness/results/wire"

	"sigs.k8s.io/yaml"
)

// lavaLog is what ReadLava takes from a LAVA job's log: the lines the
// device wrote (lvl target, and feedback after the test), the QEMU
// version the dispatcher reported, and the errors and the job's result
// it logged.
type lavaLog struct {
	target  []string
	qemu    string
	errors  []string
	result  string // the "job" case's result: pass or fail
	started time.Time
}

// lavaLine is one entry of a LAVA log: lava-run writes one a line on its
// stderr, and a server's raw log (lavacli jobs logs --raw) the same
// entries as a YAML list.
type lavaLine struct {
	DT  string `json:"dt"`
	Lvl string `json:"lvl"`
	Msg any    `json:"msg"`
}

var lavaQEMURE = regexp.MustCompile(`^qemu-system-x86, installed at version: ([^\s,]+)`)

// parseLavaLog reads the log at path. A line that is not a log entry
// (lava-run's own Python warnings on the same stderr) is skipped.
func parseLavaLog(path string) (*lavaLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &lavaLog{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		text := strings.TrimPrefix(sc.Text(), "- ")
		if !strings.HasPrefix(text, "{") {
			continue
		}
		var e lavaLine
		if err := yaml.Unmarshal([]byte(text), &e); err != nil {
			continue
		}
		if l.started.IsZero() {
			l.started, _ = time.Parse("2006-01-02T15:04:05.999999", e.DT)
		}
		switch msg := e.Msg.(type) {
		case string:
			switch e.Lvl {
			case "target", "feedback":
				// The device's lines. LAVA logs as feedback what the
				// finalize action reads after the test action ended:
				// the end marker, where the monitor's end pattern
				// matched before its newline came. LAVA's shell
				// logger escapes double quotes.
				l.target = append(l.target, strings.ReplaceAll(msg, `\"`, `"`))
			case "error":
				l.errors = append(l.errors, msg)
			case "info":
				if m := lavaQEMURE.FindStringSubmatch(msg); m != nil {
					l.qemu = m[1]
				}
			}
		case map[string]any:
			if e.Lvl == "results" && msg["definition"] == "lava" && msg["case"] == "job" {
				l.result, _ = msg["result"].(string)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// stream is the guest's stream as the log holds it: the lines from the
// header through the end marker, each ended by a newline as the guest
// wrote it (LAVA drops the carriage returns and the empty lines, neither
// of which a stream has). Without a header it is nil.
func (l *lavaLog) stream() []byte {
	var buf bytes.Buffer
	in := false
	for _, line := range l.target {
		if !in && line == wire.HeaderKey+": "+wire.Version {
			in = true
		}
		if !in {
			continue
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
		if strings.HasPrefix(line, "# kharness-end ") {
			break
		}
	}
	if !in {
		return nil
	}
	return buf.Bytes()
}

// ReadLava reads back the logs of the LAVA jobs WriteLava wrote into run:
// each RUN/lava/<cell>/boot-NN holding a log.yaml becomes that boot's
// attempt in the run, with the stream the log holds (and, for a local
// lava-run with the counting plugin, the exact counts from insns.raw),
// judged as kharness judges its own boots. Boots the run already holds are
// skipped. It returns the boots read and how many of them failed.
func ReadLava(run string) (read, failed int, err error) {
	st, err := store.Open(run)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	rec, err := st.ReadRun()
	if err != nil {
		return 0, 0, err
	}
	cfg, err := harness.LoadConfig(filepath.Join(run, store.ConfigFile))
	if err != nil {
		return 0, 0, err
	}
	state, err := st.State()
	if err != nil {
		return 0, 0, err
	}
	for ki, k := range rec.Kernels {
		for _, bc := range cfg.Configs {
			cell := store.CellName(k.Label, bc.Name)
			dirs, _ := filepath.Glob(filepath.Join(run, LavaDir, cell, "boot-[0-9][0-9]*"))
			for _, dir := range dirs {
				boot, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "boot-"))
				if err != nil || state[cell][boot].Attempts > 0 {
					continue
				}
				if _, err := os.Stat(filepath.Join(dir, LavaLogFile)); err != nil {
					continue
				}
				j := harness.PlannedBoot{Cell: cell, Info: rec.Kernels[ki], Config: bc, Boot: boot}
				ok, err := readLavaBoot(st, cfg, j, dir)
				if err != nil {
					return read, failed, fmt.Errorf("%s: %w", dir, err)
				}
				read++
				if !ok {
					failed++
				}
			}
		}
	}
	return read, failed, nil
}

// readLavaBoot commits the boot of one LAVA job directory as attempt 1.
func readLavaBoot(st *store.Store, cfg *harness.Config, j harness.PlannedBoot, dir string) (ok bool, err error) {
	l, err := parseLavaLog(filepath.Join(dir, LavaLogFile))
	if err != nil {
		return false, err
	}
	att, err := st.NewAttempt(j.Cell, j.Boot, 1)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			att.Discard()
		}
	}()
	for _, name := range []string{LavaJobFile, LavaLogFile, store.ConsoleLog, stream.InsnsFile} {
		if err := copyFile(filepath.Join(dir, name), att.Path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
	}
	raw := l.stream()
	if err := os.WriteFile(att.Path(store.RawFile), raw, 0o644); err != nil {
		return false, err
	}
	vmo := vm.VMOptions{Accel: "tcg", CPU: cmp.Or(j.Config.CPU, cfg.CPU), SMP: j.Config.SMP, MemoryMB: cfg.MemoryMB, Firmware: cfg.FirmwareROM()}.WithDefaults()
	rec := &store.BootRecord{
		Cell: j.Cell, Kernel: j.Info, Boot: j.Boot, Attempt: 1,
		Config: store.BootConfig{Name: j.Config.Name, Cmdline: j.Config.Cmdline, CPU: j.Config.CPU},
		Accel:  "tcg", AccelRequested: "tcg", AccelNote: "booted by LAVA (" + LavaLogFile + ")",
		QEMUVersion: lavaQEMUVersion(l.qemu), Machine: "pc", Firmware: vm.FirmwareName(vmo.Firmware), QEMUBinary: vm.DefaultQEMU,
		GuestCPU: vmo.CPU, SMP: vmo.SMP, MemoryMB: vmo.MemoryMB, HostCPU: harness.HostCPU(), Jobs: 1, Started: l.started,
	}
	s := lavaVerdict(rec, l, raw)
	if s != nil {
		if insns := att.Path(stream.InsnsFile); fileExists(insns) {
			if err := vm.AddInsns(s, insns); err != nil {
				rec.Status, rec.Reason = store.StatusGarbled, err.Error()
			}
		}
	}
	if rec.Status.OK() {
		if err := harness.WriteBootBench(rec, s, lavaBenchKeys(j, rec, dir, s != nil && fileExists(att.Path(stream.InsnsFile))), att.Path(store.BenchFile)); err != nil {
			return false, err
		}
	}
	return rec.Status.OK(), att.Commit(rec)
}

// lavaQEMUVersion is a LAVA boot's QEMU version in the form of kharness's
// own boots, "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" from QMP, as far
// as the log says it: LAVA logs the version of the Debian package
// qemu-system-x86 (dpkg's, pkg), which is what QMP's package string holds
// after "Debian ", but not QEMU's own three numbers. "LAVA" stands in for
// those, which also keeps compare from mixing LAVA's boots with
// kharness's unless -force.
func lavaQEMUVersion(pkg string) string {
	if pkg == "" {
		return "LAVA (QEMU package version not in the log)"
	}
	return "LAVA (Debian " + pkg + ")"
}

// lavaVerdict judges a LAVA boot's stream as Boot judges kharness's own,
// filling rec's status and reason; it returns the stream of an ok boot.
func lavaVerdict(rec *store.BootRecord, l *lavaLog, raw []byte) *stream.Stream {
	why := "the LAVA job's result is " + cmp.Or(l.result, "missing")
	if len(l.errors) > 0 {
		why += ": " + stream.SafeText(l.errors[len(l.errors)-1], 300)
	}
	if raw == nil {
		rec.Status, rec.Reason = store.StatusTruncated, "no kharness stream in the LAVA log; "+why
		return nil
	}
	s, err := stream.Parse(bytes.NewReader(raw), 0)
	switch {
	case err == nil:
		rec.Status = store.StatusOK
		return s
	case errors.Is(err, stream.ErrNoEndMarker):
		rec.Status, rec.Reason = store.StatusTruncated, err.Error()+"; "+why
	case errors.Is(err, stream.ErrCountMismatch):
		rec.Status, rec.Reason = store.StatusMiscount, err.Error()
	default:
		rec.Status, rec.Reason = store.StatusGarbled, err.Error()
	}
	return nil
}

// lavaBenchKeys are the host's keys of a LAVA boot's boot.bench, as
// attemptBoot writes its own.
func lavaBenchKeys(j harness.PlannedBoot, rec *store.BootRecord, dir string, counted bool) []stream.KV {
	kv := []stream.KV{
		{Key: "kernel", Value: j.Info.Label},
		{Key: "kernel-package", Value: harness.KernelDesc(j.Info)},
		{Key: "kernel-sha256", Value: j.Info.SHA256},
		{Key: "config", Value: j.Config.Name},
		{Key: "accel", Value: rec.Accel},
		{Key: "qemu-version", Value: rec.QEMUVersion},
		{Key: "machine", Value: rec.Machine},
		{Key: "firmware", Value: rec.Firmware},
		{Key: "guest-cpu", Value: rec.GuestCPU},
		{Key: "smp", Value: strconv.Itoa(rec.SMP)},
		{Key: "booted-by", Value: "lava"},
	}
	if id := lavaImageID(filepath.Join(dir, LavaJobFile)); id != "" {
		kv = append(kv, stream.KV{Key: "guest-image", Value: id})
	}
	if counted {
		kv = append(kv, stream.KV{Key: stream.InsnsMethodKey, Value: vm.InsnsMethod})
	}
	return kv
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lavaImageID is the guest image's identity, as attemptBoot writes it,
// from the ramdisk URL of the job definition at path ("" where it has
// none).
func lavaImageID(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var def struct {
		Actions []struct {
			Deploy struct {
				Images struct {
					Ramdisk struct {
						URL string `json:"url"`
					} `json:"ramdisk"`
				} `json:"images"`
			} `json:"deploy"`
		} `json:"actions"`
	}
	if yaml.Unmarshal(b, &def) != nil {
		return ""
	}
	for _, a := range def.Actions {
		if u := a.Deploy.Images.Ramdisk.URL; u != "" {
			return harness.ImageID(u)
		}
	}
	return ""
}
