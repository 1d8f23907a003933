package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kharness/internal/testenv"
)

// fakeLists writes a fresh archive under dir without apt: for every
// suite a Release file and a small Packages list (uncompressed; apt-helper
// reads every form), the sources list Update would write and a fresh
// stamp. It returns the lists directory.
func fakeLists(t *testing.T, dir string) string {
	t.Helper()
	if _, err := os.Stat(aptHelper); err != nil {
		t.Skipf("%s is missing: apt-get install -y apt", aptHelper)
	}
	m, err := mirrors(t.Context())
	if err != nil {
		t.Skip(err)
	}
	lists := filepath.Join(dir, "lists")
	os.MkdirAll(filepath.Join(lists, "partial"), 0o755)
	for _, s := range KnownSuites {
		pkgs := fmt.Sprintf("Package: linux-image-6.1.0-%d-cloud-amd64-unsigned\nVersion: 6.1.%d-1\n\nPackage: hello\nVersion: 1\n\n", len(s), len(s))
		sum := sha256.Sum256([]byte(pkgs))
		prefix := filepath.Join(lists, "mirror.example_debian_dists_"+s+"_")
		rel := fmt.Sprintf("Suite: %s\nSHA256:\n %s %d main/binary-%s/Packages\n", s, hex.EncodeToString(sum[:]), len(pkgs), debianArch())
		os.WriteFile(prefix+"InRelease", []byte(rel), 0o644)
		os.WriteFile(prefix+"main_binary-"+debianArch()+"_Packages", []byte(pkgs), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "sources.list"), []byte(sourcesList(m)), 0o644)
	os.WriteFile(filepath.Join(dir, "updated"), []byte("now\n"), 0o644)
	return lists
}

// fakeAptGet puts an apt-get first on PATH that runs script (sh) and
// notes each run in the returned file.
func fakeAptGet(t *testing.T, script string) (runs string) {
	t.Helper()
	bin := t.TempDir()
	runs = filepath.Join(bin, "runs")
	os.WriteFile(filepath.Join(bin, "apt-get"), []byte("#!/bin/sh\necho run >> "+runs+"\n"+script+"\n"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return runs
}

// TestArchiveDamagedList: a list cut part-way is found against its
// Release file although the lists are fresh; the stamp goes (the 12-hour
// freshness no longer holds) and apt is asked again; a list apt does not
// repair is an error that names `kharness kernels -update`. A list
// repaired by the refresh is used.
func TestArchiveDamagedList(t *testing.T) {
	a := &Archive{Dir: t.TempDir()}
	lists := fakeLists(t, a.Dir)
	if err := a.Update(t.Context(), false); err != nil {
		t.Fatalf("sound fresh lists: %v", err)
	}
	list := filepath.Join(lists, "mirror.example_debian_dists_trixie-backports_main_binary-"+debianArch()+"_Packages")
	good, _ := os.ReadFile(list)
	rel := strings.TrimSuffix(list, "main_binary-"+debianArch()+"_Packages") + "InRelease"
	relData, _ := os.ReadFile(rel)
	cut := good[:strings.Index(string(good), "\n\n")+2] // still a list: one stanza of two
	os.WriteFile(list, cut, 0o644)

	runs := fakeAptGet(t, "exit 0") // an apt that repairs nothing
	err := a.Update(t.Context(), false)
	if err == nil || !strings.Contains(err.Error(), "`kharness kernels -update`") || !strings.Contains(err.Error(), "trixie-backports") {
		t.Fatalf("a cut list: Update = %v; want an error naming the list and `kharness kernels -update`", err)
	}
	if n, _ := os.ReadFile(runs); len(n) == 0 {
		t.Error("a cut list in fresh lists: apt-get was not asked again")
	}
	if _, err := os.Stat(filepath.Join(a.Dir, "updated")); err == nil {
		t.Error("a cut list left the lists stamped fresh")
	}

	// An apt that fetches the list again (here: writes the sound one
	// back, with its Release file, as apt would) repairs it.
	os.WriteFile(list, cut, 0o644)
	os.WriteFile(rel, relData, 0o644)
	os.WriteFile(filepath.Join(a.Dir, "updated"), []byte("now\n"), 0o644)
	stash := t.TempDir()
	os.WriteFile(filepath.Join(stash, "p"), good, 0o644)
	os.WriteFile(filepath.Join(stash, "r"), relData, 0o644)
	fakeAptGet(t, fmt.Sprintf("cp %s/p %s; cp %s/r %s", stash, list, stash, rel))
	if err := a.Update(t.Context(), false); err != nil {
		t.Fatalf("a cut list that apt repairs: Update = %v", err)
	}
	if m, _ := mirrors(t.Context()); !a.fresh(sourcesList(m)) {
		t.Error("repaired lists are not stamped fresh")
	}
}

// TestAptUpdateDeadline: an apt-get update that never ends is stopped at
// its deadline, and says so.
func TestAptUpdateDeadline(t *testing.T) {
	if _, err := mirrors(t.Context()); err != nil {
		t.Skip(err)
	}
	fakeAptGet(t, "exec sleep 60")
	old := aptUpdateTimeout
	aptUpdateTimeout = time.Second
	t.Cleanup(func() { aptUpdateTimeout = old })
	a := &Archive{Dir: t.TempDir()}
	t0 := time.Now()
	err := a.Update(t.Context(), true)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 1s") || time.Since(t0) > 20*time.Second {
		t.Fatalf("a hung apt-get update: %v after %v; want it stopped at its 1s deadline", err, time.Since(t0))
	}
}

// mountOrSkip mounts with mount(2), skipping where this process may not
// (not root, or no CAP_SYS_ADMIN), and unmounts at the test's end.
func mountOrSkip(t *testing.T, src, dst, fstype string, flags uintptr, data string) {
	t.Helper()
	if err := syscall.Mount(src, dst, fstype, flags, data); err != nil {
		t.Skipf("cannot mount %s here: %v", fstype, err)
	}
	t.Cleanup(func() { syscall.Unmount(dst, syscall.MNT_DETACH) })
}

// readOnlyView bind-mounts dir read-only at a new path, which it returns.
func readOnlyView(t *testing.T, dir string) string {
	t.Helper()
	ro := t.TempDir()
	mountOrSkip(t, dir, ro, "", syscall.MS_BIND, "")
	mountOrSkip(t, "", ro, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o644); err == nil {
		t.Skip("a read-only bind mount is writable here")
	}
	return ro
}

// TestArchiveReadOnlyFresh: fresh, sound lists on a read-only cache serve
// a listing: reading takes no lock and writes nothing.
func TestArchiveReadOnlyFresh(t *testing.T) {
	dir := t.TempDir()
	fakeLists(t, dir)
	a := &Archive{Dir: readOnlyView(t, dir)}
	if err := a.Update(t.Context(), false); err != nil {
		t.Fatalf("fresh lists on a read-only cache: %v", err)
	}
}

// TestArchiveNoSpace: the archive on a full filesystem (a 2 MB tmpfs):
// apt-get update, which would wait there for ever, is stopped at once and
// the error says "no space left on device".
func TestArchiveNoSpace(t *testing.T) {
	needApt(t)
	dir := t.TempDir()
	mountOrSkip(t, "tmpfs", dir, "tmpfs", 0, "size=2m")
	a, err := OpenArchive(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Without a deadline of its own, apt-get update waits here for ever.
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	t0 := time.Now()
	err = a.Update(ctx, false)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || time.Since(t0) > 60*time.Second {
		t.Fatalf("a full filesystem: Update = %v after %v; want \"no space left on device\" within a minute", err, time.Since(t0))
	}
	t.Log(err)
}

// TestArchiveCutListRefreshed: with real apt, a copy of the archive whose
// trixie-backports list is cut before its 7.x kernels, still a valid lz4
// stream, lists every kernel of the sound archive: the cut is found and
// the list read again. The repaired copy, made read-only, still lists
// them (no lock, no write).
func TestArchiveCutListRefreshed(t *testing.T) {
	needApt(t)
	lz4 := testenv.Need(t, "apt-get install -y lz4", "lz4")
	a0, err := OpenArchive(sharedCache)
	if err != nil {
		t.Fatal(err)
	}
	want, err := a0.Kernels(t.Context(), "", "trixie-backports")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", a0.Dir, filepath.Join(dir, "apt")).CombinedOutput(); err != nil {
		t.Fatalf("copying the archive: %v: %s", err, out)
	}
	a, _ := OpenArchive(dir)
	rels, _ := filepath.Glob(filepath.Join(a.Dir, "lists", "*_dists_trixie-backports_InRelease"))
	if len(rels) != 1 {
		t.Fatalf("trixie-backports Release files: %q", rels)
	}
	list := findList(strings.TrimSuffix(rels[0], "InRelease") + "main_binary-" + debianArch() + "_Packages")
	text, err := exec.Command(aptHelper, "cat-file", list).Output()
	i := strings.Index(string(text), "\nPackage: linux-binary-7.")
	if err != nil || i < 0 {
		t.Fatalf("reading %s: %v, 7.x kernels at %d", list, err, i)
	}
	plain := filepath.Join(dir, "Packages")
	os.WriteFile(plain, text[:i+1], 0o644)
	if out, err := exec.Command(lz4, "-q", "-f", plain, list).CombinedOutput(); err != nil {
		t.Fatalf("lz4: %v: %s", err, out)
	}
	var logs []string
	a.Logf = func(f string, args ...any) { logs = append(logs, fmt.Sprintf(f, args...)) }
	got, err := a.Kernels(t.Context(), "", "trixie-backports")
	if err != nil || len(got) != len(want) {
		t.Fatalf("a cut list: %d kernels, %v; want the sound archive's %d (logs %q)", len(got), err, len(want), logs)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "damaged lists") {
		t.Errorf("logs %q: want the damaged list said", logs)
	}
	ro, err := OpenArchive(readOnlyView(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ro.Kernels(t.Context(), "", "trixie-backports"); err != nil || len(got) != len(want) {
		t.Errorf("the repaired archive, read-only: %d kernels, %v; want %d", len(got), err, len(want))
	}
}
