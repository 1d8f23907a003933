//go:build linux

package guest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"kharness/results/wire"
)

// The kernel's symbols, for profiles. With kharness.kallsyms=1 the guest
// ends its stream with the running kernel's text symbols, so that the host
// can name the kernel blocks the counting plugin profiled (profile=on).
// They are the runtime addresses of /proc/kallsyms, so KASLR moves nothing
// the host relies on. The host reads them in results.Profile.

// KallsymsPath is where the guest reads the kernel's symbols.
const KallsymsPath = "/proc/kallsyms"

const (
	// kallsymsPrefix starts each comment with a piece of the table: the
	// pieces, in order, are the base64 of a gzip of "<hex address>
	// <name>\n" lines (results.KallsymsPrefix).
	kallsymsPrefix = wire.KallsymsPrefix
	// kallsymsNonePrefix starts the comment that says why there is no
	// table (results.KallsymsNonePrefix).
	kallsymsNonePrefix = wire.KallsymsNonePrefix
	// KallsymsChunk is the most base64 characters one comment carries:
	// well inside the stream's line limit of 4096 bytes.
	KallsymsChunk = 3000
)

// errZeroAddresses means /proc/kallsyms listed text symbols, all at address
// 0: the kernel hides addresses from this reader (kptr_restrict).
var errZeroAddresses = errors.New("/proc/kallsyms shows every address as 0 (kernel.kptr_restrict hides them)")

// encodeKallsyms reads a /proc/kallsyms listing from r and returns its text
// symbols (types t, T, w and W; not a module's, not at address 0) as the
// pieces of the kallsyms comments, and how many symbols they hold. When
// every text symbol is at 0 the error is errZeroAddresses.
func encodeKallsyms(r io.Reader) (pieces []string, n int, err error) {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	w := bufio.NewWriter(zw)
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// "ffffffff81000000 T _stext", or with "\t[module]" after it.
		f := strings.Fields(sc.Text())
		if len(f) != 3 || len(f[1]) != 1 || !strings.Contains("tTwW", f[1]) {
			continue
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			continue
		}
		seen++
		if addr == 0 {
			continue
		}
		fmt.Fprintf(w, "%x %s\n", addr, f[2])
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading kernel symbols: %w", err)
	}
	if seen > 0 && n == 0 {
		return nil, 0, errZeroAddresses
	}
	if n == 0 {
		return nil, 0, errors.New("no text symbols in /proc/kallsyms")
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	b64 := base64.StdEncoding.EncodeToString(z.Bytes())
	for len(b64) > 0 {
		k := min(len(b64), KallsymsChunk)
		pieces = append(pieces, b64[:k])
		b64 = b64[k:]
	}
	return pieces, n, nil
}

// writeKallsyms writes the kernel's text symbols from path to s as
// kallsyms comments. Where it cannot, it writes a kallsyms-none comment
// saying why, and the host's profile names that reason: the benchmarks'
// numbers stand either way. (The guest runs as root, which sees addresses
// unless kernel.kptr_restrict is 2.)
func writeKallsyms(s *StreamWriter, path string, log io.Writer) error {
	start := time.Now()
	pieces, n, err := readKallsyms(path)
	if err != nil {
		fmt.Fprintf(log, "kguest: kernel symbols: %v\n", err)
		return s.Comment(kallsymsNonePrefix + err.Error())
	}
	read := time.Since(start)
	for _, p := range pieces {
		// Not Comment: it cuts at MaxConfigValue bytes. A piece is
		// base64, printable, and shorter than a stream line.
		if err := s.line("# " + kallsymsPrefix + p); err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "kguest: kernel symbols: %d text symbols read in %v, sent in %d comments in %v\n",
		n, read.Round(time.Millisecond), len(pieces), (time.Since(start) - read).Round(time.Millisecond))
	return nil
}

// readKallsyms is encodeKallsyms on the file at path.
func readKallsyms(path string) ([]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("reading kernel symbols: %w", err)
	}
	defer f.Close()
	return encodeKallsyms(f)
}
