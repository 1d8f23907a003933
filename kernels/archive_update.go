package kernels

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kharness/internal/atomicfile"
	"kharness/internal/filelock"
	"kharness/internal/tail"
)

// Deadlines on apt: a full filesystem or a stalled mirror leaves apt
// waiting with nothing said (apt-get update on a full tmpfs never ends).
var (
	aptUpdateTimeout   = 10 * time.Minute
	aptCacheTimeout    = 5 * time.Minute
	aptDownloadTimeout = 30 * time.Minute
)

// minFree is the free space under which the archive's filesystem counts
// as full while apt writes to it.
const minFree = 256 << 10

// errNoSpace is a full filesystem under the archive, found while apt ran.
var errNoSpace = errors.New("no space left on device")

// Update refreshes the archive's lists when they are older than
// listsMaxAge, when the sources changed, when a list is damaged (see
// verifyLists), or when force is set. Fresh, sound lists need no write:
// a read-only cache serves listings. Two processes update one after the
// other (a file lock), and the second finds the lists fresh.
func (a *Archive) Update(ctx context.Context, force bool) error {
	m, err := mirrors(ctx)
	if err != nil {
		return err
	}
	src := sourcesList(m)
	var damage *listsDamage
	if !force && a.fresh(src) {
		err := a.verifyLists(ctx)
		if err == nil || !errors.As(err, &damage) {
			return err
		}
		a.logf("Debian's suites: %v; reading them again", err)
	}
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return a.updateError(damage, err)
		}
	}
	unlock, err := filelock.Lock(ctx, filepath.Join(a.Dir, "update.lock"))
	if err != nil {
		return a.updateError(damage, err)
	}
	defer unlock()
	if !force && a.fresh(src) {
		// Another process may have read the suites while we waited.
		err := a.verifyLists(ctx)
		if err == nil || !errors.As(err, &damage) {
			return err
		}
		a.dropDamaged(damage)
	}
	return a.update(ctx, src)
}

// fresh reports whether the lists were read from src less than
// listsMaxAge ago.
func (a *Archive) fresh(src string) bool {
	old, _ := os.ReadFile(filepath.Join(a.Dir, "sources.list"))
	st, err := os.Stat(filepath.Join(a.Dir, "updated"))
	return err == nil && string(old) == src && time.Since(st.ModTime()) < listsMaxAge
}

// updateError is an update that could not start; where it was for
// damaged lists, both are said.
func (a *Archive) updateError(damage *listsDamage, err error) error {
	if damage != nil {
		return fmt.Errorf("updating Debian's suites: %v; and they cannot be read again here: %w (%s)", damage, err, updateHint)
	}
	return fmt.Errorf("updating Debian's suites: %w", err)
}

// update runs apt-get update under the lock, checks what it read, and
// stamps the lists fresh.
func (a *Archive) update(ctx context.Context, src string) error {
	stamp := filepath.Join(a.Dir, "updated")
	if err := atomicfile.Write(filepath.Join(a.Dir, "sources.list"), []byte(src), 0o644); err != nil {
		return fmt.Errorf("updating Debian's suites: %w", err)
	}
	a.logf("reading Debian's suites (%s) into %s", strings.Join(KnownSuites, ", "), a.Dir)
	t0 := time.Now()
	for try := 1; ; try++ {
		out, err := a.aptGetUpdate(ctx)
		if err != nil {
			return fmt.Errorf("updating Debian's suites: %w", err)
		}
		// apt-get update exits 0 when a suite could not be fetched or its
		// signature not checked: it only warns. A suite read unverified
		// must not be used, and a missing one would silently shrink every
		// listing.
		if bad := updateProblems(out); len(bad) > 0 {
			return fmt.Errorf("updating Debian's suites: %s", strings.Join(bad, "; "))
		}
		// apt keeps a list whose suite's Release file has not changed,
		// damaged or not: such a list is dropped and read once more.
		var damage *listsDamage
		err = a.verifyLists(ctx)
		if err == nil {
			break
		}
		if !errors.As(err, &damage) || try == 2 {
			return fmt.Errorf("updating Debian's suites: after apt-get update: %w (%s)", err, updateHint)
		}
		a.logf("Debian's suites: %v; reading them again", err)
		a.dropDamaged(damage)
	}
	if err := os.WriteFile(stamp, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("updating Debian's suites: %w", err)
	}
	a.logf("read Debian's suites in %s", time.Since(t0).Round(100*time.Millisecond))
	return nil
}

// aptGetUpdate runs apt-get update with a deadline, stopping it as soon
// as the archive's filesystem is full.
func (a *Archive) aptGetUpdate(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, aptUpdateTimeout, fmt.Errorf("apt-get update did not finish within %v: stopped", aptUpdateTimeout))
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go watchSpace(ctx, a.Dir, stop)
	args := append(a.aptOptions(), "update")
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && !errors.Is(cause, context.Canceled) {
		if errors.Is(cause, errNoSpace) {
			// What apt left half-fetched would keep the disk full.
			partial := filepath.Join(a.Dir, "lists", "partial")
			os.RemoveAll(partial)
			os.Mkdir(partial, 0o700)
		}
		return nil, cause
	}
	if err != nil {
		if bytes.Contains(out, []byte("No space left on device")) {
			err = fmt.Errorf("%w: %w", errNoSpace, err)
		}
		return nil, fmt.Errorf("apt-get update: %w: %s", err, strings.Join(tail.Lines(string(out), 5), " | "))
	}
	return out, nil
}

// watchSpace cancels ctx with errNoSpace once dir's filesystem has less
// than minFree bytes free, checking twice a second until ctx ends.
func watchSpace(ctx context.Context, dir string, stop context.CancelCauseFunc) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		var st syscall.Statfs_t
		if syscall.Statfs(dir, &st) == nil && st.Bavail*uint64(st.Bsize) < minFree {
			stop(fmt.Errorf("%w: %s's filesystem has %d KiB free", errNoSpace, dir, st.Bavail*uint64(st.Bsize)>>10))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// updateProblems are the lines of apt-get update's output that say a
// suite was not read, or not verified.
func updateProblems(out []byte) []string {
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "E:") || strings.HasPrefix(l, "Err:") ||
			(strings.HasPrefix(l, "W:") && (strings.Contains(l, "GPG") || strings.Contains(l, "signature") || strings.Contains(l, "Failed to fetch"))) {
			bad = append(bad, l)
		}
	}
	return bad
}
