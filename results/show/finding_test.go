package show

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kharness/results/internal/fakerun"
	"kharness/results/stats"
	"kharness/results/store"
)

// TestFindings: one report a called exact change, each with its subject,
// its functions adding up to the change, both sides and the boots behind
// it; a comparison that calls nothing writes nothing.
func TestFindings(t *testing.T) {
	dir := fakerun.WhyRun(t, true)
	tab, err := stats.Compare([]string{dir}, stats.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	boots, err := store.LoadBoots(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs := Findings(tab, boots, []string{"kharness compare " + dir})
	// One finding for the change: of insns/op, as user space moved too.
	if len(fs) != 1 || fs[0].Unit != "insns/op" {
		t.Fatalf("%d findings (%+v), want 1 of insns/op", len(fs), fs)
	}
	out := filepath.Join(t.TempDir(), "findings")
	paths, err := WriteFindings(out, fs)
	if err != nil || len(paths) != 1 {
		t.Fatalf("WriteFindings: %v, %d files", err, len(paths))
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"Subject: NullSyscall/call=getppid: +9 instructions (+36.0%) from default to pti-on on k, in entry_SYSCALL_64 and pti_switch_cr3\n",
		"  entry_SYSCALL_64       10      14     +4\n",
		"  pti_switch_cr3          0       4     +4\n",
		"  [user space]                          +1\n",
		"config pti-on, kernel command line \"\"",
		"boot-00-a1 (profiled: the functions above)",
		"reproduce:\n  kharness compare " + dir + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("finding lacks %q:\n%s", want, text)
		}
	}
	// No profiles: the finding says why it names no function.
	tab, err = stats.Compare([]string{fakerun.WhyRun(t, false)}, stats.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs = Findings(tab, nil, nil)
	if len(fs) != 1 || fs[0].Why != nil || !strings.Contains(fs[0].NoWhy, "-profile first") {
		t.Errorf("findings without profiles: %d, %+v", len(fs), fs)
	}
	// Nothing called: no file, no directory.
	none := filepath.Join(t.TempDir(), "none")
	if paths, err := WriteFindings(none, nil); err != nil || len(paths) != 0 {
		t.Errorf("WriteFindings of none: %v %v", paths, err)
	}
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Errorf("WriteFindings of none made %s", none)
	}
}
