//go:build linux

package guest

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// procStat is the part of /proc/stat that vmstat shows: the context
// switch and interrupt counts and the CPU time in ticks, summed over CPUs.
type procStat struct {
	ok                      bool
	ctxt, intr              uint64
	user, system, idle, all uint64
}

// readProcStat reads /proc/stat; ok is false when it cannot.
func readProcStat() procStat {
	var st procStat
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return st
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "cpu":
			// user nice system idle iowait irq softirq steal ...
			var t [8]uint64
			for i := 0; i < len(t) && i+1 < len(f); i++ {
				t[i], _ = strconv.ParseUint(f[i+1], 10, 64)
			}
			st.user = t[0] + t[1]
			st.system = t[2] + t[5] + t[6]
			st.idle = t[3] + t[4]
			st.all = st.user + st.system + st.idle + t[7]
			st.ok = true
		case "ctxt":
			st.ctxt, _ = strconv.ParseUint(f[1], 10, 64)
		case "intr":
			st.intr, _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	return st
}

// counterValues turns two /proc/stat readings d apart into the extra units
// of a benchmark line, as the seed's vmstat table shows them: ctxsw/s,
// intr/s, and the usr%, sys% and idl% shares of CPU time (over every CPU).
func counterValues(a, b procStat, d time.Duration) []Value {
	if !a.ok || !b.ok || d <= 0 {
		return nil
	}
	sec := d.Seconds()
	v := []Value{
		{float64(b.ctxt-a.ctxt) / sec, "ctxsw/s"},
		{float64(b.intr-a.intr) / sec, "intr/s"},
	}
	if all := b.all - a.all; all > 0 {
		pct := func(x, y uint64) float64 { return 100 * float64(y-x) / float64(all) }
		v = append(v, Value{pct(a.user, b.user), "usr%"}, Value{pct(a.system, b.system), "sys%"},
			Value{pct(a.idle, b.idle), "idl%"})
	}
	return v
}
