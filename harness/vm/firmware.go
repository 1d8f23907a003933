package vm

import (
	"fmt"
	"os"
	"path/filepath"
)

// QbootROM is where Debian's qemu-system-data installs qboot, a minimal
// firmware that only loads the kernel QEMU was given with -kernel.
const QbootROM = "/usr/share/qemu/qboot.rom"

// ResolveFirmware turns the config's firmware into the ROM for -bios, ""
// meaning QEMU's own. SeaBIOS stays the default: under TCG qboot reaches
// the kernel about 0.1 s sooner, but it writes no MP table, so a kernel
// without ACPI (bisect-run's small configs) finds no local APIC and hangs
// (README, "Overhead"). qboot is there for users who boot ACPI kernels
// under KVM, where a boot is about a second and the firmware a larger part.
func ResolveFirmware(mode string) (string, error) {
	switch mode {
	case "", "seabios":
		return "", nil
	case "qboot":
		if _, err := os.Stat(QbootROM); err != nil {
			return "", fmt.Errorf("firmware = \"qboot\": %s not found (Debian's qemu-system-data installs it)", QbootROM)
		}
		return QbootROM, nil
	}
	if !filepath.IsAbs(mode) {
		return "", fmt.Errorf("firmware = %q: want seabios, qboot or a ROM's absolute path", mode)
	}
	if st, err := os.Stat(mode); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("firmware = %q: not a readable file", mode)
	}
	return mode, nil
}

// FirmwareName is how a boot's record names its firmware: "qboot",
// "seabios" (QEMU's own for pc) or the ROM's path.
func FirmwareName(rom string) string {
	switch rom {
	case "":
		return "seabios"
	case QbootROM:
		return "qboot"
	}
	return rom
}
