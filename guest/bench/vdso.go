//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// atSysinfoEHDR is the auxv tag of the vDSO's address.
const atSysinfoEHDR = 33

// vdsoSymbol returns the address of a function of the vDSO, found from
// AT_SYSINFO_EHDR and the vDSO's own ELF dynamic symbol table.
func vdsoSymbol(name string) (uintptr, error) {
	base, err := auxval(atSysinfoEHDR)
	if err != nil {
		return 0, err
	}
	size, err := mappingSize("[vdso]", base)
	if err != nil {
		return 0, err
	}
	img, err := readSelfMem(base, size)
	if err != nil {
		return 0, err
	}
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		return 0, fmt.Errorf("vDSO: %w", err)
	}
	var load uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			load = p.Vaddr
			break
		}
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return 0, fmt.Errorf("vDSO symbols: %w", err)
	}
	for _, s := range syms {
		if s.Name == name && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 {
			return base + uintptr(s.Value-load), nil
		}
	}
	return 0, fmt.Errorf("vDSO has no %s", name)
}

// auxval reads one entry of /proc/self/auxv.
func auxval(tag uint64) (uintptr, error) {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 0, err
	}
	for i := 0; i+16 <= len(b); i += 16 {
		if binary.LittleEndian.Uint64(b[i:]) == tag {
			return uintptr(binary.LittleEndian.Uint64(b[i+8:])), nil
		}
	}
	return 0, fmt.Errorf("no auxv entry %d", tag)
}

// mappingSize returns the size of the mapping named name that starts at
// base, from /proc/self/maps.
func mappingSize(name string, base uintptr) (uintptr, error) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[5] != name {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uintptr(start) == base {
			return uintptr(end - start), nil
		}
	}
	return 0, fmt.Errorf("no %s mapping at %#x in /proc/self/maps", name, base)
}

// hasMapping reports whether /proc/self/maps names a mapping name.
func hasMapping(name string) bool {
	b, err := os.ReadFile("/proc/self/maps")
	return err == nil && bytes.Contains(b, []byte(name))
}

// readSelfMem copies size bytes at addr of this process's memory, through
// /proc/self/mem.
func readSelfMem(addr, size uintptr) ([]byte, error) {
	f, err := os.Open("/proc/self/mem")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, int64(addr)); err != nil {
		return nil, fmt.Errorf("reading the vDSO: %w", err)
	}
	return b, nil
}
