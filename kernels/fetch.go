package kernels

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// watchDownload keeps c.Downloaded at the bytes under dir, four times a
// second, until the returned stop is called.
func (c *Cache) watchDownload(dir string) (stop func()) {
	if c.Downloaded == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		measure := func() {
			n, _ := DirSize(dir)
			c.Downloaded.Store(n)
		}
		for {
			measure()
			select {
			case <-done:
				measure() // the whole download, for a last line
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// DirSize is the bytes and the number of regular files under dir (0 where
// it does not exist or cannot be read).
func DirSize(dir string) (size int64, files int) {
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
				files++
			}
		}
		return nil
	})
	return size, files
}

// fetchFile validates a local bzImage and returns it in place.
func fetchFile(s Source) (*Kernel, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("fetching kernel: %w", err)
	}
	p, err := filepath.Abs(s.Path)
	if err != nil {
		return nil, fmt.Errorf("fetching kernel %s: %w", s, err)
	}
	img, err := ReadBzImage(p)
	if err != nil {
		return nil, fmt.Errorf("fetching kernel %s: %w", s, err)
	}
	sum, err := SHA256File(p)
	if err != nil {
		return nil, fmt.Errorf("fetching kernel %s: %w", s, err)
	}
	if s.SHA256 != "" && !strings.EqualFold(sum, s.SHA256) {
		return nil, fmt.Errorf("fetching kernel %s: sha256 of the file is %s, the config expects %s", s, sum, strings.ToLower(s.SHA256))
	}
	return &Kernel{Source: s.String(), Release: img.Release, SHA256: sum, Path: p}, nil
}

// SHA256File returns the lowercase hex sha256 of a file.
func SHA256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// errSHA256Mismatch says a file's content is not what was expected.
var errSHA256Mismatch = errors.New("sha256 mismatch")

// verifySHA256 checks a file against an expected hex sha256.
func verifySHA256(path, want string) error {
	got, err := SHA256File(path)
	if err != nil {
		return err
	}
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("%s: %w: got %s, want %s", path, errSHA256Mismatch, got, strings.ToLower(want))
	}
	return nil
}
