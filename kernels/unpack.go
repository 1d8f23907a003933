package kernels

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// bootFiles are the files extractBoot took from a .deb.
type bootFiles struct {
	bzImage string // dir/bzImage, from boot/vmlinuz-<release>
	config  string // dir/config, from boot/config-*; "" when the package has none
	release string // <release> from the vmlinuz file name
}

// maxBootFile bounds what extractBoot writes for one file.
const maxBootFile = 1 << 30

// extractBoot reads the data archive of a .deb through `dpkg-deb
// --fsys-tarfile` and writes boot/vmlinuz-* and boot/config-* into dir as
// bzImage and config (read-only). It stops reading once past boot/, which
// dpkg orders first, so the modules are not decompressed.
func extractBoot(ctx context.Context, deb, dir string) (bootFiles, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	// dpkg-deb forks a decompressor that also holds our pipes: on
	// cancellation kill their whole process group, and never let Wait hang
	// on a pipe a stray process keeps open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return bootFiles{}, fmt.Errorf("unpacking %s: %w", filepath.Base(deb), err)
	}
	if err := cmd.Start(); err != nil {
		return bootFiles{}, fmt.Errorf("unpacking %s: running dpkg-deb: %w", filepath.Base(deb), err)
	}
	files, early, readErr := readBoot(tar.NewReader(pipe), dir)
	if early || readErr != nil {
		// The decompressor dies of SIGPIPE instead of blocking, and
		// dpkg-deb reaps it and exits with an error we ignore.
		pipe.Close()
	}
	waitErr := cmd.Wait()
	switch {
	case readErr != nil:
		return bootFiles{}, fmt.Errorf("unpacking %s: %w", filepath.Base(deb), readErr)
	case !early && waitErr != nil: // after an early stop dpkg-deb fails of the closed pipe, as expected
		return bootFiles{}, fmt.Errorf("unpacking %s: dpkg-deb --fsys-tarfile: %w: %s", filepath.Base(deb), waitErr, strings.TrimSpace(stderr.String()))
	case files.bzImage == "":
		return bootFiles{}, fmt.Errorf("unpacking %s: no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz in the package (a meta package? name a linux-image-<ABI>-<flavour>-unsigned or linux-binary-<ABI>-<flavour> package)", filepath.Base(deb))
	}
	return files, nil
}

// readBoot takes the boot files from a package's data archive; early says it
// stopped at the first entry after boot/ with the bzImage in hand.
func readBoot(tr *tar.Reader, dir string) (files bootFiles, early bool, err error) {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, false, nil
		}
		if err != nil {
			return bootFiles{}, false, fmt.Errorf("reading the data archive: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		parent, base := path.Split(name)
		if h.Typeflag != tar.TypeReg {
			continue
		}
		image := ""
		switch {
		case parent == "boot/" && strings.HasPrefix(base, "vmlinuz-"):
			image = strings.TrimPrefix(base, "vmlinuz-")
		case base == "vmlinuz" && strings.HasPrefix(parent, "usr/lib/modules/") && strings.Count(parent, "/") == 4:
			// linux-binary-* (Debian's kernels from 6.19 on)
			image = path.Base(parent)
		case parent == "boot/" && strings.HasPrefix(base, "config-") && files.config == "":
			files.config = filepath.Join(dir, "config")
			err = writeEntry(files.config, tr, h)
		case parent != "boot/" && files.bzImage != "":
			return files, true, nil // past the image: the modules need not be read
		}
		if image != "" {
			if files.bzImage != "" {
				return bootFiles{}, false, fmt.Errorf("two kernels in one package: %s and %s", files.release, image)
			}
			files.release = image
			files.bzImage = filepath.Join(dir, "bzImage")
			err = writeEntry(files.bzImage, tr, h)
		}
		if err != nil {
			return bootFiles{}, false, err
		}
	}
}

// writeEntry writes the current tar entry to a new read-only file.
func writeEntry(dst string, r io.Reader, h *tar.Header) error {
	if h.Size > maxBootFile {
		return fmt.Errorf("extracting %s: %d bytes is too large for a boot file", h.Name, h.Size)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return fmt.Errorf("extracting %s: %w", h.Name, err)
	}
	if _, err := io.CopyN(f, r, h.Size); err != nil {
		f.Close()
		return fmt.Errorf("extracting %s: %w", h.Name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("extracting %s: %w", h.Name, err)
	}
	return nil
}

// removeStale deletes entries of dir older than age: what a killed fetch
// left behind. Errors are ignored; this is housekeeping.
func removeStale(dir string, age time.Duration) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
