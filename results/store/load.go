package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// Boots returns every committed attempt of the store, sorted by cell, boot
// and attempt. A directory without a readable boot.json is skipped, with a
// warning to s.Logf; it is never counted.
func (s *Store) Boots() ([]*BootRecord, error) {
	recs, warns, err := readBoots(s.Dir)
	for _, w := range warns {
		if s.Logf != nil {
			s.Logf("%s", w)
		}
	}
	return recs, err
}

// readBoots reads the committed attempts under run/cells, sorted by cell,
// boot and attempt, with warnings for what it skipped. A missing cells
// directory is an empty run; a missing run directory is an error.
func readBoots(run string) ([]*BootRecord, []string, error) {
	if _, err := os.Stat(run); err != nil {
		return nil, nil, fmt.Errorf("reading run directory: %w", err)
	}
	cells, err := os.ReadDir(filepath.Join(run, CellsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading run directory: %w", err)
	}
	host := ""
	var recs []*BootRecord
	var warns []string
	switch rr, err := ReadRunDir(run); {
	case err == nil:
		host = rr.Host.Hostname
	case !errors.Is(err, fs.ErrNotExist):
		// Said, not silently ignored: without it the run's kernels and
		// configs are shown in boot order and its host is unknown.
		warns = append(warns, fmt.Sprintf("%v: the run's order of kernels and configs and its host are unknown", err))
	}
	for _, c := range cells {
		cdir := filepath.Join(run, CellsDir, c.Name())
		if !c.IsDir() {
			warns = append(warns, fmt.Sprintf("skipping %s: not a cell directory", cdir))
			continue
		}
		boots, err := os.ReadDir(cdir)
		if err != nil {
			return nil, nil, fmt.Errorf("reading cell directory: %w", err)
		}
		for _, b := range boots {
			bdir := filepath.Join(cdir, b.Name())
			m := bootDirRE.FindStringSubmatch(b.Name())
			if m == nil || !b.IsDir() {
				warns = append(warns, fmt.Sprintf("skipping %s: not a boot attempt directory", bdir))
				continue
			}
			boot, _ := strconv.Atoi(m[1])
			attempt, _ := strconv.Atoi(m[2])
			rec := new(BootRecord)
			path := filepath.Join(bdir, BootFile)
			if err := ReadJSON(path, rec); err != nil {
				warns = append(warns, fmt.Sprintf("skipping %s: %v", bdir, err))
				continue
			}
			if err := checkSchema(path, rec.Schema); err != nil {
				return nil, nil, err
			}
			if rec.Cell != c.Name() || rec.Boot != boot || rec.Attempt != attempt {
				warns = append(warns, fmt.Sprintf("skipping %s: %s is for cell %s boot %d attempt %d",
					bdir, BootFile, rec.Cell, rec.Boot, rec.Attempt))
				continue
			}
			rec.Dir, rec.Host = bdir, host
			recs = append(recs, rec)
		}
	}
	sortBoots(recs)
	return recs, warns, nil
}

// LoadBoots reads the committed boot attempts of the run directories dirs,
// merged as one run and sorted by cell, boot and attempt. It skips
// attempts without a readable boot.json.
func LoadBoots(dirs ...string) ([]*BootRecord, error) {
	recs, _, err := LoadWithWarnings(dirs)
	return recs, err
}

// LoadWithWarnings is LoadBoots that also returns why any attempt or
// directory was skipped.
func LoadWithWarnings(dirs []string) ([]*BootRecord, []string, error) {
	var all []*BootRecord
	var warns []string
	seen := map[string]string{}
	for _, d := range dirs {
		// The same directory named twice (runs/x and ./runs/x, or through
		// a link) is read once: its boots are not a second sample.
		id := d
		if abs, err := filepath.Abs(d); err == nil {
			id = abs
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				id = real
			}
		}
		if first, dup := seen[id]; dup {
			warns = append(warns, fmt.Sprintf("%s is %s, given already: read once", d, first))
			continue
		}
		seen[id] = d
		recs, w, err := readBoots(d)
		if err != nil {
			return nil, nil, fmt.Errorf("loading boots from %s: %w", d, err)
		}
		all, warns = append(all, recs...), append(warns, w...)
	}
	sortBoots(all)
	return all, warns, nil
}

func sortBoots(recs []*BootRecord) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if a.Cell != b.Cell {
			return a.Cell < b.Cell
		}
		if a.Boot != b.Boot {
			return a.Boot < b.Boot
		}
		return a.Attempt < b.Attempt
	})
}
