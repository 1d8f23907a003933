package store

import (
	"kharness/internal/atomicfile"
	"kharness/internal/filelock"

	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Names of the files and directories of a run directory.
const (
	RunFile    = "run.json"
	ConfigFile = "config.toml"
	BootFile   = "boot.json"
	BenchFile  = "boot.bench"
	ConsoleLog = "console.log"
	RawFile    = "results.raw"
	ArgvFile   = "qemu.argv"

	// CellsDir holds a run's cells, a directory each.
	CellsDir = "cells"
	tmpDir   = ".tmp"
	lockFile = ".lock"
)

// maxCellName is the longest cell name, in bytes.
const maxCellName = 100

// CellName returns the name of the cell of kernel and config:
// "<kernel>--<config>" with every byte outside [A-Za-z0-9._+-] replaced by
// '_'. A name longer than 100 bytes is cut to 91 bytes and ends in '-' and
// 8 hex digits of the SHA-256 of the whole name, so long names stay
// distinct.
func CellName(kernel, config string) string {
	full := kernel + "--" + config
	b := []byte(full)
	for i, c := range b {
		if !NameByte(c) {
			b[i] = '_'
		}
	}
	if len(b) <= maxCellName {
		return string(b)
	}
	sum := sha256.Sum256([]byte(full))
	return string(b[:maxCellName-9]) + "-" + hex.EncodeToString(sum[:4])
}

// NameByte reports whether c may stand in a name kharness makes a
// directory of (a cell, a kernel label): [A-Za-z0-9._+-].
func NameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '+' || c == '-'
}

// checkCell reports whether cell can name a directory of the store.
func checkCell(cell string) error {
	if cell == "" || cell == "." || cell == ".." || len(cell) > maxCellName {
		return fmt.Errorf("invalid cell name %q", cell)
	}
	for i := 0; i < len(cell); i++ {
		if !NameByte(cell[i]) {
			return fmt.Errorf("invalid cell name %q: byte %q", cell, cell[i])
		}
	}
	return nil
}

// Store is a run directory on disk. See Open.
type Store struct {
	Dir string

	// Logf, if set, receives warnings about directories that Boots and
	// State skip: attempts without a readable boot.json, stray files.
	Logf func(format string, args ...any)

	unlock func()
}

// ErrInUse means another process has the run directory open for writing.
var ErrInUse = errors.New("run directory in use by another kharness process")

// Open creates or opens the run directory dir for writing: it creates it
// if needed, takes the directory's lock (RUN/.lock), checks that it is
// writable, and removes RUN/.tmp, where attempts that never committed (a
// kill -9 half way through a boot) are left. Only one process may write a
// run directory at a time: while one holds it, Open fails with an error
// wrapping ErrInUse and touches nothing. Close releases the lock; so does
// the process's exit, however it ends.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening run directory %s: %w", dir, err)
	}
	unlock, err := filelock.TryLock(filepath.Join(dir, lockFile))
	switch {
	case errors.Is(err, filelock.ErrBusy):
		return nil, fmt.Errorf("opening run directory %s: %w (wait for it to finish, or use another -o)", dir, ErrInUse)
	case err != nil:
		return nil, fmt.Errorf("opening run directory %s: not writable: %w", dir, err)
	}
	st := &Store{Dir: dir, unlock: unlock}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("opening run directory %s: not writable: %w", dir, err)
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		st.Close()
		return nil, fmt.Errorf("opening run directory %s: removing probe: %w", dir, err)
	}
	if err := os.RemoveAll(filepath.Join(dir, tmpDir)); err != nil {
		st.Close()
		return nil, fmt.Errorf("opening run directory %s: discarding unfinished attempts: %w", dir, err)
	}
	return st, nil
}

// Close releases the run directory's lock. The store can still be read.
func (s *Store) Close() {
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// Attempt is one boot attempt in progress: a directory under RUN/.tmp that
// the boot fills, then Commit moves into RUN/cells or Discard removes.
type Attempt struct {
	Dir     string // where to write the attempt's files; the final directory after Commit
	Cell    string
	Boot    int
	Attempt int

	done bool // committed or discarded
}

// NewAttempt makes a fresh directory RUN/.tmp/<cell>-<NN>-a<K>-<random> for
// attempt number attempt (from 1) at boot index boot (from 0) of cell.
func (s *Store) NewAttempt(cell string, boot, attempt int) (*Attempt, error) {
	if err := checkCell(cell); err != nil {
		return nil, fmt.Errorf("starting attempt: %w", err)
	}
	if boot < 0 || attempt < 1 {
		return nil, fmt.Errorf("starting attempt: invalid boot %d attempt %d of %s", boot, attempt, cell)
	}
	tmp := filepath.Join(s.Dir, tmpDir)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("starting attempt: %w", err)
	}
	dir, err := os.MkdirTemp(tmp, fmt.Sprintf("%s-%02d-a%d-", cell, boot, attempt))
	if err != nil {
		return nil, fmt.Errorf("starting attempt: %w", err)
	}
	return &Attempt{Dir: dir, Cell: cell, Boot: boot, Attempt: attempt}, nil
}

// bootDirName is the name of the committed directory of an attempt.
func bootDirName(boot, attempt int) string {
	return fmt.Sprintf("boot-%02d-a%d", boot, attempt)
}

var bootDirRE = regexp.MustCompile(`^boot-([0-9]{2,})-a([1-9][0-9]*)$`)

// Path returns the path of the file name in the attempt's directory.
func (a *Attempt) Path(name string) string { return filepath.Join(a.Dir, name) }

// Commit makes the attempt count: it stamps rec with the attempt's cell,
// boot, attempt and the schema version, fsyncs the files already in the
// attempt directory, writes boot.json there and renames the directory to
// RUN/cells/<cell>/boot-NN-aK. It fails, leaving the attempt in .tmp, if
// rec names another cell, boot or attempt or if that attempt is already
// committed. After Commit, a.Dir is the committed directory.
func (a *Attempt) Commit(rec *BootRecord) error {
	if a.done {
		return fmt.Errorf("committing %s: attempt already committed or discarded", a.Dir)
	}
	if rec.Cell != "" && rec.Cell != a.Cell || rec.Boot != 0 && rec.Boot != a.Boot || rec.Attempt != 0 && rec.Attempt != a.Attempt {
		return fmt.Errorf("committing %s: record is for %s boot %d attempt %d, attempt is %s boot %d attempt %d",
			a.Dir, rec.Cell, rec.Boot, rec.Attempt, a.Cell, a.Boot, a.Attempt)
	}
	rec.Schema, rec.Cell, rec.Boot, rec.Attempt = SchemaVersion, a.Cell, a.Boot, a.Attempt
	if err := syncFiles(a.Dir); err != nil {
		return fmt.Errorf("committing %s: %w", a.Dir, err)
	}
	if err := atomicfile.WriteJSON(a.Path(BootFile), rec); err != nil {
		return fmt.Errorf("committing %s: %w", a.Dir, err)
	}
	run := filepath.Dir(filepath.Dir(a.Dir))
	cellDir := filepath.Join(run, CellsDir, a.Cell)
	if err := os.MkdirAll(cellDir, 0o755); err != nil {
		return fmt.Errorf("committing %s: %w", a.Dir, err)
	}
	final := filepath.Join(cellDir, bootDirName(a.Boot, a.Attempt))
	// Committed directories are never empty, and rename(2) refuses to
	// replace a non-empty directory, so the check below has no race that
	// could lose a committed attempt.
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("committing %s: %s already exists", a.Dir, final)
	}
	if err := os.Rename(a.Dir, final); err != nil {
		return fmt.Errorf("committing %s: %w", a.Dir, err)
	}
	a.Dir, a.done = final, true
	for _, d := range []string{cellDir, filepath.Dir(cellDir), filepath.Join(run, tmpDir)} {
		if err := atomicfile.SyncDir(d); err != nil {
			return fmt.Errorf("committing %s: %w", final, err)
		}
	}
	return nil
}

// syncFiles fsyncs the regular files directly in dir.
func syncFiles(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("syncing %s: %w", f.Name(), err)
		}
	}
	return nil
}

// Discard removes the attempt's directory. It does nothing after Commit,
// so that callers can defer it.
func (a *Attempt) Discard() error {
	if a.done {
		return nil
	}
	a.done = true
	if err := os.RemoveAll(a.Dir); err != nil {
		return fmt.Errorf("discarding attempt %s: %w", a.Dir, err)
	}
	return nil
}

// BootState is what the store holds for one boot index of a cell.
type BootState struct {
	OK          bool   // an attempt succeeded
	Attempts    int    // committed attempts, ok or not
	Failed      int    // committed attempts that failed
	LastAttempt int    // the highest committed attempt number; the next is LastAttempt+1
	LastReason  string // why the latest failed attempt failed: "status: reason"
}

// State summarises what the store already holds, for resume: by cell and
// boot index, whether an ok attempt exists and how many attempts failed.
func (s *Store) State() (map[string]map[int]BootState, error) {
	recs, err := s.Boots()
	if err != nil {
		return nil, err
	}
	state := make(map[string]map[int]BootState)
	for _, r := range recs {
		if state[r.Cell] == nil {
			state[r.Cell] = make(map[int]BootState)
		}
		st := state[r.Cell][r.Boot]
		st.Attempts++
		st.LastAttempt = max(st.LastAttempt, r.Attempt)
		if r.Status.OK() {
			st.OK = true
		} else {
			st.Failed++
			st.LastReason = FailReason(r) // recs are sorted by attempt
		}
		state[r.Cell][r.Boot] = st
	}
	return state, nil
}

// FailReason is "status: reason", or the status alone.
func FailReason(r *BootRecord) string {
	reason := strings.TrimSpace(r.Reason)
	if reason == "" {
		return string(r.Status)
	}
	return string(r.Status) + ": " + reason
}

// WriteRun writes r, stamped with the schema version, to RUN/run.json.
func (s *Store) WriteRun(r *RunRecord) error {
	r.Schema = SchemaVersion
	return atomicfile.WriteJSON(filepath.Join(s.Dir, RunFile), r)
}

// ReadRun reads RUN/run.json. The error matches os.ErrNotExist if there is
// none, that is, if the run is new.
func (s *Store) ReadRun() (*RunRecord, error) {
	return ReadRunDir(s.Dir)
}

// ReadRunDir reads run directory dir's run.json.
func ReadRunDir(dir string) (*RunRecord, error) {
	path := filepath.Join(dir, RunFile)
	r := new(RunRecord)
	if err := ReadJSON(path, r); err != nil {
		return nil, err
	}
	if err := checkSchema(path, r.Schema); err != nil {
		return nil, err
	}
	return r, nil
}

// WriteConfig writes data, the config file a run was started with, to
// RUN/config.toml.
func (s *Store) WriteConfig(data []byte) error {
	return atomicfile.Write(filepath.Join(s.Dir, ConfigFile), data, 0o644)
}
