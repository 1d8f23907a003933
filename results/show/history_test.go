package show

import (
	"bytes"
	"strings"
	"testing"
)

// historyPageFixture is a history of five kernels: getppid steps by -1
// (under the attribution threshold), +40, and +5 to a kernel counted
// without profile; the pipe by +300 across a kernel that has no pipe
// count, and one kernel failed.
func historyPageFixture() *HistoryPage {
	pt := func(v float64, link string, funcs map[string]float64) HistoryValue {
		return HistoryValue{Value: v, Boots: []float64{v}, Link: link, Funcs: funcs}
	}
	return &HistoryPage{Title: "history <test>", Command: "kharness history -o runs/h",
		Benches: []string{"NullSyscall/call=getppid", "PipeRoundTrip/procs=2"},
		Kernels: []HistoryKernel{
			{Label: "a", Release: "6.1.0-57-cloud-amd64", Version: "6.1.192-3", Suite: "bookworm-security", Points: map[string]HistoryValue{
				"NullSyscall/call=getppid": pt(321, "a/cells/x/boot-00-a1", map[string]float64{"do_syscall_64": 100, "entry_SYSCALL_64": 221}),
				"PipeRoundTrip/procs=2":    pt(10150, "a/cells/x/boot-00-a1", map[string]float64{"pipe_read": 10150})}},
			{Label: "b", Release: "6.12.118+deb12-cloud-amd64", Version: "6.12.118-1~deb12u1", Points: map[string]HistoryValue{
				"NullSyscall/call=getppid": pt(320, "b/cells/x/boot-00-a1", map[string]float64{"do_syscall_64": 99, "entry_SYSCALL_64": 221})}},
			{Label: "c", Release: "7.0.13+deb13-cloud-amd64", Failed: "boot timed out"},
			{Label: "d", Release: "7.1.3+deb13-cloud-amd64", Version: "7.1.3-1~bpo13+1", Points: map[string]HistoryValue{
				"NullSyscall/call=getppid": pt(360, "d/cells/x/boot-00-a1", map[string]float64{"do_syscall_64": 99, "entry_SYSCALL_64": 221, "prandom_u32_state": 40}),
				"PipeRoundTrip/procs=2":    pt(10450, "d/cells/x/boot-01-a2", map[string]float64{"pipe_read": 10000, "pipe_write": 450})}},
			{Label: "p", Release: "7.1.7+deb13-cloud-amd64", Points: map[string]HistoryValue{
				"NullSyscall/call=getppid": pt(365, "p/plain/cells/x/boot-00-a1", nil)}},
		}}
}

func TestHistorySteps(t *testing.T) {
	pg := historyPageFixture()
	steps := HistorySteps(pg)
	if len(steps) != 4 {
		t.Fatalf("steps %+v, want 4", steps)
	}
	g1, g2, g3, p := steps[0], steps[1], steps[2], steps[3]
	if g3.From != 3 || g3.To != 4 || g3.Delta != 5 || !g3.NoProfile || g3.Funcs != nil {
		t.Errorf("third getppid step %+v: want 3 -> 4, +5, no profile so no functions", g3)
	}
	if g1.From != 0 || g1.To != 1 || g1.Delta != -1 || g1.Funcs != nil {
		t.Errorf("first getppid step %+v: want 0 -> 1, -1, no functions (under 2)", g1)
	}
	if g2.From != 1 || g2.To != 3 || g2.Delta != 40 || len(g2.Funcs) != 1 || g2.Funcs[0].Name != "prandom_u32_state" || g2.Funcs[0].Dx != 40 {
		t.Errorf("second getppid step %+v: want 1 -> 3 (across the failed kernel), +40, prandom_u32_state first", g2)
	}
	if p.From != 0 || p.To != 3 || p.Delta != 300 || len(p.Funcs) != 2 || p.Funcs[0].Name != "pipe_write" || p.Funcs[1].Dx != -150 {
		t.Errorf("pipe step %+v: want 0 -> 3 (across the kernel without a count), pipe_write +450 then pipe_read -150", p)
	}
	if l := LargestSteps(steps, "", 2); len(l) != 2 || l[0].Delta != 300 || l[1].Delta != 40 {
		t.Errorf("largest steps %+v", l)
	}
}

func TestHistoryTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHistoryTable(&b, historyPageFixture()); err != nil {
		t.Fatal(err)
	}
	want := `| kernel | version | suite | NullSyscall getppid | PipeRoundTrip 2 |
|---|---|---|---|---|
| 6.1.0-57-cloud-amd64 | 6.1.192-3 | bookworm-security | 321 | 10150 |
| 6.12.118+deb12-cloud-amd64 | 6.12.118-1~deb12u1 |  | 320 (-1) | no count |
| 7.0.13+deb13-cloud-amd64 |  |  | failed | failed |
| 7.1.3+deb13-cloud-amd64 | 7.1.3-1~bpo13+1 |  | 360 (+40) | 10450 (+300) |
| 7.1.7+deb13-cloud-amd64 |  |  | 365 (+5) | no count |

5 kernels, 4 steps.
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestHistoryPage(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHistory(&b, historyPageFixture()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"history &lt;test&gt;", `href="d/cells/x/boot-01-a2"`, "prandom_u32_state", "under the attribution threshold", "a kernel counted without profile", `class="pt up"`, `class="pt down"`, "boot timed out"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<circle"); n != 6 {
		t.Errorf("%d points, want 6 (4 getppid, 2 pipe)", n)
	}
}
