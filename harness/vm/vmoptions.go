package vm

import (
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultQEMU is the emulator kharness runs unless told otherwise.
const DefaultQEMU = "qemu-system-x86_64"

// VMOptions describe one VM completely before anything starts, so the
// command line can be shown, logged and pasted.
type VMOptions struct {
	QEMU     string // binary; DefaultQEMU when empty
	Kernel   string // bzImage
	Initrd   string // cpio
	Cmdline  string // kernel command line
	Accel    string // "kvm" or "tcg"
	CPU      string // guest -cpu; "qemu64" under TCG, "host" under KVM when empty
	SMP      int    // vCPUs; 1 when zero
	MemoryMB int    // guest memory; 512 when zero
	// Firmware is the ROM for -bios (ResolveFirmware); QEMU's own when
	// empty.
	Firmware string
	// Plugin, when not empty, is a TCG plugin to load (the counting
	// plugin), writing to PluginOut.
	Plugin, PluginOut string
	// PluginProfile turns on the plugin's profile mode: with each counted
	// stretch, the instructions of every kernel block it ran.
	PluginProfile bool
	// SocketDir is a private directory for the QMP, console and results
	// sockets. Unix socket paths are limited to 108 bytes, so it should be
	// short (a fresh directory under os.TempDir).
	SocketDir string
}

// WithDefaults is o with QEMU, CPU, SMP and memory filled in where unset.
func (o VMOptions) WithDefaults() VMOptions {
	if o.QEMU == "" {
		o.QEMU = DefaultQEMU
	}
	if o.SMP <= 0 {
		o.SMP = 1
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = 512
	}
	if o.CPU == "" {
		o.CPU = "qemu64"
		if o.Accel == "kvm" {
			o.CPU = "host"
		}
	}
	return o
}

// socket paths inside SocketDir.
func (o VMOptions) qmpSocket() string { return filepath.Join(o.SocketDir, "qmp") }

func (o VMOptions) consoleSocket() string { return filepath.Join(o.SocketDir, "con") }

func (o VMOptions) resultsSocket() string { return filepath.Join(o.SocketDir, "res") }

// Argv is QEMU's full command line. The console (ttyS0) and the results port
// (ttyS1) connect to sockets kharness listens on, so nothing is lost and
// both are read as they arrive; QMP waits for kharness to connect before the
// guest starts, so no event is missed.
func (o VMOptions) Argv() []string {
	o = o.WithDefaults()
	accel := o.Accel
	if o.Plugin != "" && o.SMP > 1 {
		// The plugin's counters are shared by every vCPU: with one host
		// thread for all of them their adds cannot race.
		accel += ",thread=single"
	}
	argv := []string{
		o.QEMU,
		"-name", "kharness",
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-machine", "pc",
		"-accel", accel,
		"-cpu", o.CPU,
		"-smp", strconv.Itoa(o.SMP),
		"-m", strconv.Itoa(o.MemoryMB),
		"-no-reboot",
	}
	if o.Firmware != "" {
		argv = append(argv, "-bios", o.Firmware)
	}
	argv = append(argv,
		"-chardev", "socket,id=qmp,path="+o.qmpSocket()+",server=on,wait=on",
		"-mon", "chardev=qmp,mode=control",
		"-chardev", "socket,id=con,path="+o.consoleSocket(),
		"-serial", "chardev:con",
		"-chardev", "socket,id=res,path="+o.resultsSocket(),
		"-serial", "chardev:res",
		"-kernel", o.Kernel,
		"-initrd", o.Initrd,
		"-append", o.Cmdline,
	)
	if o.Plugin != "" {
		// QEMU's option syntax doubles a comma inside a value.
		esc := func(s string) string { return strings.ReplaceAll(s, ",", ",,") }
		arg := "file=" + esc(o.Plugin) + ",out=" + esc(o.PluginOut)
		if o.PluginProfile {
			arg += ",profile=on"
		}
		argv = append(argv, "-plugin", arg)
	}
	return argv
}

// QuoteArgv renders argv for a shell, so a person can paste it.
func QuoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+/.,:@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
