package vm

import (
	"kharness/harness/internal/harnesstest"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestArgv(t *testing.T) {
	o := VMOptions{Kernel: "/k/bzImage", Initrd: "/i/img.cpio", Cmdline: "console=ttyS0 pti=on", Accel: "tcg", SocketDir: "/tmp/s"}
	argv := o.Argv()
	if argv[0] != DefaultQEMU {
		t.Errorf("argv[0] = %q", argv[0])
	}
	pairs := map[string]string{"-accel": "tcg", "-cpu": "qemu64", "-smp": "1", "-m": "512", "-kernel": "/k/bzImage", "-initrd": "/i/img.cpio", "-append": "console=ttyS0 pti=on"}
	for flag, want := range pairs {
		i := slices.Index(argv, flag)
		if i < 0 || i+1 >= len(argv) || argv[i+1] != want {
			t.Errorf("%s: want %q in %q", flag, want, argv)
		}
	}
	// Two serial ports in order: the console, then the results port.
	var serials []string
	for i, a := range argv {
		if a == "-serial" {
			serials = append(serials, argv[i+1])
		}
	}
	if !slices.Equal(serials, []string{"chardev:con", "chardev:res"}) {
		t.Errorf("serial ports %q", serials)
	}
	for _, want := range []string{"-no-reboot", "-nodefaults", "socket,id=qmp,path=/tmp/s/qmp,server=on,wait=on"} {
		if !slices.Contains(argv, want) {
			t.Errorf("missing %q in %q", want, argv)
		}
	}
	if slices.Contains(argv, "-bios") {
		t.Errorf("-bios without a Firmware: %q", argv)
	}
	if b := (VMOptions{Firmware: "/rom/qboot.rom"}).Argv(); b[slices.Index(b, "-bios")+1] != "/rom/qboot.rom" {
		t.Errorf("firmware argv %q", b)
	}
	k := VMOptions{Accel: "kvm", SMP: 2, MemoryMB: 1024, QEMU: "/opt/qemu"}.Argv()
	if k[0] != "/opt/qemu" || k[slices.Index(k, "-cpu")+1] != "host" || k[slices.Index(k, "-smp")+1] != "2" || k[slices.Index(k, "-m")+1] != "1024" {
		t.Errorf("kvm argv %q", k)
	}
}

func TestQuoteArgv(t *testing.T) {
	got := QuoteArgv([]string{"qemu", "-append", "console=ttyS0 pti=on", "it's", ""})
	want := `qemu -append 'console=ttyS0 pti=on' 'it'\''s' ''`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if s := QuoteArgv([]string{"$(rm -rf /)"}); !strings.HasPrefix(s, "'") {
		t.Errorf("unquoted shell syntax: %s", s)
	}
}

func TestResolveFirmware(t *testing.T) {
	for _, mode := range []string{"", "seabios"} {
		if rom, err := ResolveFirmware(mode); rom != "" || err != nil || FirmwareName(rom) != "seabios" {
			t.Errorf("%q = %q, %v; want QEMU's own", mode, rom, err)
		}
	}
	_, statErr := os.Stat(QbootROM)
	rom, err := ResolveFirmware("qboot")
	if (statErr == nil) != (err == nil) || (err == nil && (rom != QbootROM || FirmwareName(rom) != "qboot")) {
		t.Errorf("qboot = %q, %v (ROM: %v)", rom, err, statErr)
	}
	self, _ := os.Executable()
	if rom, err := ResolveFirmware(self); rom != self || err != nil || FirmwareName(rom) != self {
		t.Errorf("a path = %q, %v", rom, err)
	}
	for _, bad := range []string{"auto", "ovmf", "rom.bin", "/no/such.rom", "/"} {
		if _, err := ResolveFirmware(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: err %v, want one naming it", bad, err)
		}
	}
}

// TestDefaultQEMUIsTheTests: the boot tests' fixture looks for the QEMU
// that boots use (it cannot import this package to ask).
func TestDefaultQEMUIsTheTests(t *testing.T) {
	if DefaultQEMU != harnesstest.QEMU {
		t.Errorf("DefaultQEMU %q, harnesstest.QEMU %q", DefaultQEMU, harnesstest.QEMU)
	}
}
