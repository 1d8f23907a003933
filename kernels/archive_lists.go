package kernels

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The archive's lists are checked before each use against their suites'
// Release files (InRelease, whose signature apt checked against Debian's
// keyring when it fetched them): a Packages list cut part-way, even one
// that is still a valid lz4 stream, would silently shrink every listing,
// and a family could resolve to an older "newest".

// aptHelper decompresses a list whatever the compression apt stored it
// with (apt-helper cat-file).
var aptHelper = "/usr/lib/apt/apt-helper"

// updateHint is what a message about the archive's lists tells the user
// to run: the archive's own refresh, not the system's apt-get update.
const updateHint = "`kharness kernels -update` reads Debian's suites again"

// listsDamage is what a check of the lists found wrong: why, and the
// files to drop so that apt fetches them again.
type listsDamage struct {
	why   []string
	files []string
}

func (d *listsDamage) Error() string {
	return "damaged lists: " + strings.Join(d.why, "; ")
}

// verified remembers lists found sound in this process, by the name,
// size and modification time of every file, so that a config of ten
// kernels reads them once.
var verified sync.Map

// verifyLists checks that every suite of KnownSuites has its Release file
// and its Packages list for this machine's architecture, and that each
// list decompresses to the size and sha256 its Release file gives. It
// returns a *listsDamage for lists that fail.
func (a *Archive) verifyLists(ctx context.Context) error {
	dir := filepath.Join(a.Dir, "lists")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return &listsDamage{why: []string{err.Error()}}
	}
	var key strings.Builder
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			fmt.Fprintf(&key, "%s\x00%d\x00%d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
		}
	}
	if _, ok := verified.Load(dir + "\n" + key.String()); ok {
		return nil
	}
	d := &listsDamage{}
	for _, suite := range KnownSuites {
		a.verifySuite(ctx, dir, suite, d)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(d.why) > 0 {
		return d
	}
	verified.Store(dir+"\n"+key.String(), true)
	return nil
}

// verifySuite checks one suite's lists, adding what is wrong to d.
func (a *Archive) verifySuite(ctx context.Context, dir, suite string, d *listsDamage) {
	releases, _ := filepath.Glob(filepath.Join(dir, "*_dists_"+suite+"_InRelease"))
	if len(releases) == 0 {
		d.why = append(d.why, "suite "+suite+" has no Release file")
		return
	}
	target := "main/binary-" + debianArch() + "/Packages"
	for _, rel := range releases {
		prefix := strings.TrimSuffix(rel, "InRelease")
		sums, err := releaseSHA256(rel)
		want, ok := sums[target]
		if err != nil || !ok {
			d.why = append(d.why, fmt.Sprintf("%s: no sha256 for %s (%v)", filepath.Base(rel), target, err))
			d.files = append(d.files, rel)
			continue
		}
		list := findList(prefix + strings.ReplaceAll(target, "/", "_"))
		if list == "" {
			if want.size > 0 {
				d.why = append(d.why, fmt.Sprintf("suite %s has no %s list", suite, target))
				d.files = append(d.files, rel)
			}
			continue
		}
		sum, size, err := catList(ctx, list)
		switch {
		case err != nil:
			d.why = append(d.why, fmt.Sprintf("%s cannot be read: %v", filepath.Base(list), err))
		case size != want.size || sum != want.sha256:
			d.why = append(d.why, fmt.Sprintf("%s holds %d bytes (sha256 %.12s…), its Release file says %d (%.12s…)", filepath.Base(list), size, sum, want.size, want.sha256))
		default:
			continue
		}
		d.files = append(d.files, list, rel)
	}
}

// findList is the list stored under base, with whichever compression
// apt chose ("" for none found).
func findList(base string) string {
	for _, ext := range []string{".lz4", "", ".gz", ".xz", ".zst", ".bz2", ".lzma"} {
		if fi, err := os.Stat(base + ext); err == nil && fi.Mode().IsRegular() {
			return base + ext
		}
	}
	return ""
}

// catList is the sha256 and size of a list's decompressed contents.
func catList(ctx context.Context, path string) (string, int64, error) {
	cmd := exec.CommandContext(ctx, aptHelper, "cat-file", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, cerr := io.Copy(h, out)
	if err := cmd.Wait(); err != nil {
		return "", 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if cerr != nil {
		return "", 0, cerr
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// releaseSum is one index's entry in a Release file.
type releaseSum struct {
	sha256 string
	size   int64
}

// releaseSHA256 reads a Release (or InRelease) file's SHA256 section.
func releaseSHA256(path string) (map[string]releaseSum, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sums := map[string]releaseSum{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := sc.Text()
		if l == "" || (l[0] != ' ' && l[0] != '\t') {
			in = l == "SHA256:"
			continue
		}
		f := strings.Fields(l)
		if !in || len(f) != 3 || len(f[0]) != 64 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err == nil {
			sums[f[2]] = releaseSum{strings.ToLower(f[0]), n}
		}
	}
	if len(sums) == 0 {
		return nil, errors.New("no SHA256 section")
	}
	return sums, nil
}

// debianArch is this machine's Debian architecture, whose lists apt
// fetches.
func debianArch() string {
	if a, ok := map[string]string{"386": "i386", "arm": "armhf", "ppc64le": "ppc64el"}[runtime.GOARCH]; ok {
		return a
	}
	return runtime.GOARCH
}

// dropDamaged removes the files a check found damaged, and the update
// stamp: the lists are not fresh, whatever their age, until apt has
// read them again.
func (a *Archive) dropDamaged(d *listsDamage) {
	os.Remove(filepath.Join(a.Dir, "updated"))
	for _, f := range slices.Compact(slices.Sorted(slices.Values(d.files))) {
		os.Remove(f)
	}
}
