package store

import (
	"errors"
	"kharness/internal/atomicfile"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreCellName(t *testing.T) {
	for _, tc := range []struct{ kernel, config, want string }{
		{"6.1.0-28", "default", "6.1.0-28--default"},
		{"6.1 rc/1", "mitigations=off", "6.1_rc_1--mitigations_off"},
		{"ü", "a+b", "__--a+b"},
	} {
		if got := CellName(tc.kernel, tc.config); got != tc.want {
			t.Errorf("CellName(%q, %q) = %q, want %q", tc.kernel, tc.config, got, tc.want)
		}
	}
	long1, long2 := CellName(strings.Repeat("k", 120), "a"), CellName(strings.Repeat("k", 120), "b")
	if len(long1) != 100 || long1 == long2 {
		t.Errorf("long names %q, %q: want 100 bytes and distinct", long1, long2)
	}
	if err := checkCell(long1); err != nil {
		t.Error(err)
	}
}

func TestStoreOpenUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "run")
	_, err := Open(dir)
	if err == nil {
		t.Fatal("Open under a regular file succeeded")
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name %s", err, dir)
	}
}

// commit makes and commits one attempt with the given status.
func commit(t *testing.T, s *Store, cell string, boot, attempt int, status Status, reason string) *Attempt {
	t.Helper()
	a, err := s.NewAttempt(cell, boot, attempt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.Path(ConsoleLog), []byte("console\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(&BootRecord{Status: status, Reason: reason}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return a
}

func TestStoreCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := commit(t, s, "k--c", 0, 1, StatusHang, "no results in 300s")
	if want := filepath.Join(dir, "cells", "k--c", "boot-00-a1"); a.Dir != want {
		t.Errorf("committed dir = %s, want %s", a.Dir, want)
	}
	if _, err := os.Stat(a.Path(ConsoleLog)); err != nil {
		t.Errorf("console.log did not move with the attempt: %v", err)
	}
	if err := a.Discard(); err != nil || !exists(a.Dir) {
		t.Errorf("Discard after Commit: %v, dir exists %v", err, exists(a.Dir))
	}
	commit(t, s, "k--c", 0, 2, StatusOK, "")
	commit(t, s, "k--c", 1, 1, StatusPanic, "Kernel panic")
	commit(t, s, "a--c", 10, 1, StatusOK, "")

	boots, err := s.Boots()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range boots {
		got = append(got, filepath.Base(filepath.Dir(b.Dir))+"/"+filepath.Base(b.Dir)+":"+string(b.Status))
		if b.Schema != SchemaVersion {
			t.Errorf("%s: schema %d", b.Dir, b.Schema)
		}
	}
	want := "a--c/boot-10-a1:ok k--c/boot-00-a1:hang k--c/boot-00-a2:ok k--c/boot-01-a1:panic"
	if strings.Join(got, " ") != want {
		t.Errorf("Boots = %s\nwant    %s", strings.Join(got, " "), want)
	}

	state, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if st := state["k--c"][0]; !st.OK || st.Attempts != 2 || st.Failed != 1 || st.LastAttempt != 2 || st.LastReason != "hang: no results in 300s" {
		t.Errorf("state of k--c boot 0 = %+v", st)
	}
	if st := state["k--c"][1]; st.OK || st.Failed != 1 || st.LastReason != "panic: Kernel panic" {
		t.Errorf("state of k--c boot 1 = %+v", st)
	}
	if st := state["a--c"][10]; !st.OK || st.Attempts != 1 {
		t.Errorf("state of a--c boot 10 = %+v", st)
	}
}

func TestStoreCommitTwice(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, "k--c", 0, 1, StatusOK, "")
	a, err := s.NewAttempt("k--c", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(&BootRecord{Status: StatusOK}); err == nil {
		t.Fatal("second Commit of boot 0 attempt 1 succeeded")
	}
	if err := a.Discard(); err != nil || exists(a.Dir) {
		t.Errorf("Discard: %v, dir exists %v", err, exists(a.Dir))
	}
	b, _ := s.NewAttempt("k--c", 0, 2)
	if err := b.Commit(&BootRecord{Cell: "other--c"}); err == nil {
		t.Error("Commit of a record for another cell succeeded")
	}
	if _, err := s.NewAttempt("k/../c", 0, 1); err == nil {
		t.Error("NewAttempt with a bad cell name succeeded")
	}
}

func TestStoreDiscardsUnfinished(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.NewAttempt("k--c", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	// A kill -9 after boot.json was written but before the rename.
	if err := atomicfile.WriteJSON(a.Path(BootFile), &BootRecord{Cell: "k--c", Status: StatusOK}); err != nil {
		t.Fatal(err)
	}
	// A boot directory that never got its boot.json, and a stray file.
	if err := os.MkdirAll(filepath.Join(dir, "cells", "k--c", "boot-01-a1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cells", "k--c", "notes"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// While the first process holds the directory, a second Open is
	// refused and the attempt in progress survives it.
	if _, err := Open(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open while the first holds it: %v, want ErrInUse", err)
	}
	if !exists(a.Dir) {
		t.Fatalf("a refused Open removed the attempt in progress %s", a.Dir)
	}
	s.Close() // the process that held it is gone
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if exists(a.Dir) {
		t.Errorf("Open left the unfinished attempt %s", a.Dir)
	}
	var warns []string
	s.Logf = func(format string, args ...any) { warns = append(warns, format) }
	boots, err := s.Boots()
	if err != nil {
		t.Fatal(err)
	}
	if len(boots) != 0 {
		t.Errorf("Boots = %d records, want none", len(boots))
	}
	if len(warns) != 2 {
		t.Errorf("got %d warnings, want 2 (boot-01-a1, notes)", len(warns))
	}
	state, _ := s.State()
	if len(state) != 0 {
		t.Errorf("State = %v, want empty", state)
	}
}

func TestStoreRun(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadRun(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadRun of a new run: %v, want os.ErrNotExist", err)
	}
	in := &RunRecord{Config: "k.toml", Boots: 5, Kernels: []KernelInfo{{Label: "6.1", SHA256: "ab"}}}
	if err := s.WriteRun(in); err != nil {
		t.Fatal(err)
	}
	out, err := s.ReadRun()
	if err != nil {
		t.Fatal(err)
	}
	if out.Schema != SchemaVersion || out.Boots != 5 || out.Kernels[0].Label != "6.1" {
		t.Errorf("ReadRun = %+v", out)
	}
	if err := atomicfile.WriteJSON(filepath.Join(s.Dir, RunFile), &RunRecord{Schema: SchemaVersion + 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadRun(); err == nil {
		t.Error("ReadRun of a newer schema succeeded")
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
