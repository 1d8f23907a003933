package kernels

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// QEMUConfig is the config fragment merged onto `make tinyconfig` for a
// kernel that boots the kharness image under QEMU and reports: x86_64, the
// 8250 console and results ports, an initramfs, devtmpfs, what the Go
// runtime of u-root and the guest needs (futex, epoll, eventfd), and
// page-table isolation available (CPU_MITIGATIONS gates it), and the
// kernel's symbols (KALLSYMS: a profiled boot names the functions that
// account for a count, as bisect-run's bad steps do). The disabled
// symbols are tinyconfig's choices that the enabled ones replace, and what
// a guest on a serial console with IPv4 loopback never uses: IPv6,
// cpufreq, the virtual terminal and input layer, and ACPI and PCI (a fifth
// of the build). Without ACPI the kernel cannot power off; the guest then
// restarts, which ends QEMU as -no-reboot tells it to.
const QEMUConfig = `CONFIG_64BIT=y
CONFIG_PRINTK=y
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_SERIAL_8250_NR_UARTS=4
CONFIG_SERIAL_8250_RUNTIME_UARTS=4
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_FUTEX=y
CONFIG_EPOLL=y
CONFIG_EVENTFD=y
CONFIG_SHMEM=y
CONFIG_TMPFS=y
CONFIG_MULTIUSER=y
CONFIG_POSIX_TIMERS=y
CONFIG_PERF_EVENTS=y
CONFIG_KALLSYMS=y
CONFIG_NET=y
CONFIG_UNIX=y
CONFIG_INET=y
CONFIG_IA32_EMULATION=y
CONFIG_CPU_MITIGATIONS=y
CONFIG_PAGE_TABLE_ISOLATION=y
# CONFIG_ACPI is not set
# CONFIG_PCI is not set
CONFIG_SMP=y
CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y
# CONFIG_CC_OPTIMIZE_FOR_SIZE is not set
CONFIG_SLUB=y
# CONFIG_SLOB is not set
CONFIG_KERNEL_GZIP=y
# CONFIG_KERNEL_XZ is not set
CONFIG_MAGIC_SYSRQ=y
# CONFIG_IPV6 is not set
# CONFIG_INET_DIAG is not set
# CONFIG_WIRELESS is not set
# CONFIG_CPU_FREQ is not set
# CONFIG_VT is not set
# CONFIG_INPUT is not set
# CONFIG_HID is not set
`

// essential are the symbols without which no boot can report a number; a
// user's fragment that turns one off fails the build with the reason.
var essential = []string{"64BIT", "TTY", "SERIAL_8250", "SERIAL_8250_CONSOLE", "BLK_DEV_INITRD",
	"DEVTMPFS", "PROC_FS", "SYSFS", "BINFMT_ELF", "FUTEX", "EPOLL", "EVENTFD"}

// parseConfig reads "CONFIG_X=v" and "# CONFIG_X is not set" lines into a
// map from X to v ("n" for not set).
func parseConfig(data []byte) map[string]string {
	m := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if rest, ok := strings.CutPrefix(line, "# CONFIG_"); ok {
			if sym, ok := strings.CutSuffix(rest, " is not set"); ok {
				m[sym] = "n"
			}
		} else if rest, ok := strings.CutPrefix(line, "CONFIG_"); ok {
			if sym, val, ok := strings.Cut(rest, "="); ok {
				m[sym] = val
			}
		}
	}
	return m
}

// mergeConfigFile sets each symbol of want in the .config at path,
// replacing its line or appending one, as scripts/kconfig/merge_config.sh
// does; olddefconfig then resolves dependencies.
func mergeConfigFile(path string, want map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	line := func(sym, val string) string {
		if val == "n" {
			return "# CONFIG_" + sym + " is not set"
		}
		return "CONFIG_" + sym + "=" + val
	}
	done := map[string]bool{}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if m := parseConfig([]byte(l)); len(m) == 1 {
			for sym := range m {
				if val, ok := want[sym]; ok {
					l, done[sym] = line(sym, val), true
				}
			}
		}
		out = append(out, l)
	}
	for _, sym := range sortedKeys(want) {
		if !done[sym] {
			out = append(out, line(sym, want[sym]))
		}
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644)
}

// checkConfig fails when an essential symbol or the second UART did not
// survive olddefconfig (the boots could not report), and lists the other
// requested symbols it changed: options a tree does not have, or whose
// dependencies are off.
func checkConfig(final, want, user map[string]string) ([]string, error) {
	var bad []string
	for _, sym := range essential {
		if final[sym] != "y" {
			bad = append(bad, "CONFIG_"+sym+"="+orN(final[sym]))
		}
	}
	for _, sym := range []string{"SERIAL_8250_NR_UARTS", "SERIAL_8250_RUNTIME_UARTS"} {
		if n, err := strconv.Atoi(final[sym]); err != nil || n < 2 {
			bad = append(bad, "CONFIG_"+sym+"="+orN(final[sym])+" (the results port is ttyS1)")
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: the config cannot boot the kharness image: %s", ErrBuildFailed, strings.Join(bad, ", "))
	}
	var warns []string
	for _, sym := range sortedKeys(want) {
		if got := orN(final[sym]); got != want[sym] {
			from := "kharness"
			if _, ok := user[sym]; ok {
				from = "fragment"
			}
			warns = append(warns, fmt.Sprintf("CONFIG_%s=%s (%s asked %s)", sym, got, from, want[sym]))
		}
	}
	return warns, nil
}

func orN(v string) string {
	if v == "" {
		return "n"
	}
	return v
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// CheckBuildTools says what this machine lacks to build a kernel, with the
// Debian packages to install; nil when nothing.
func CheckBuildTools(ctx context.Context) error {
	var missing, pkgs []string
	for _, t := range []struct{ cmd, pkg string }{
		{"git", "git"}, {"make", "make"}, {"gcc", "gcc"}, {"flex", "flex"}, {"bison", "bison"}, {"bc", "bc"},
	} {
		if _, err := exec.LookPath(t.cmd); err != nil {
			missing, pkgs = append(missing, t.cmd), append(pkgs, t.pkg)
		}
	}
	if _, err := exec.LookPath("gcc"); err == nil {
		// objtool, which x86_64 always builds, needs libelf.
		cmd := exec.CommandContext(ctx, "gcc", "-E", "-x", "c", "-o", os.DevNull, "-")
		cmd.Stdin = strings.NewReader("#include <gelf.h>\n")
		if cmd.Run() != nil {
			missing, pkgs = append(missing, "libelf headers (gelf.h)"), append(pkgs, "libelf-dev")
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("building a kernel needs %s: apt-get install -y %s", strings.Join(missing, ", "), strings.Join(pkgs, " "))
}
