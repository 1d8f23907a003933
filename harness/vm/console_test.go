package vm_test

import (
	"math/rand"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"kharness/harness/vm"
)

// consolePanicText is a root-fs panic as a Debian cloud kernel prints it on
// ttyS0 (the serial console ends lines in "\r\n").
const consolePanicText = `[    0.000000] Linux version 6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.135-1 (2025-04-25)
[    0.000000] Command line: console=ttyS0 pti=on kharness.count=5
[    0.000000] BIOS-provided physical RAM map:
[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
[    0.412733] Run /init as init process
[    0.598120] List of all partitions:
[    0.598460] No filesystem could mount root, tried: 
[    0.598731] 
[    0.598975] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
[    0.599402] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-56-cloud-amd64 #1  Debian 6.1.135-1
[    0.599881] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
[    0.600311] Call Trace:
[    0.600498]  <TASK>
[    0.600655]  dump_stack_lvl+0x44/0x5c
[    0.600903]  panic+0x118/0x2ed
[    0.601121]  mount_block_root+0x1d3/0x1e6
[    0.601385]  prepare_namespace+0x136/0x165
[    0.601652]  kernel_init_freeable+0x25c/0x286
[    0.601936]  ? rest_init+0xd0/0xd0
[    0.602158]  kernel_init+0x16/0x130
[    0.602388]  ret_from_fork+0x22/0x30
[    0.602611]  </TASK>
[    0.602842] Kernel Offset: 0x1e000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
[    0.603316] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---
`

// consoleOopsText is a NULL pointer dereference in a benchmark process
// that ends in a panic (panic_on_oops).
const consoleOopsText = `[    2.101234] kharness-bench: starting 12 benchmarks
[    5.123456] BUG: kernel NULL pointer dereference, address: 0000000000000000
[    5.123901] #PF: supervisor read access in kernel mode
[    5.124133] #PF: error_code(0x0000) - not-present page
[    5.124350] PGD 0 P4D 0 
[    5.124511] Oops: 0000 [#1] PREEMPT SMP NOPTI
[    5.124733] CPU: 1 PID: 87 Comm: kharness-bench Not tainted 6.1.0-56-cloud-amd64 #1  Debian 6.1.135-1
[    5.124952] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
[    5.125170] RIP: 0010:pipe_read+0x8a/0x440
[    5.125382] Code: 48 8b 45 c8 48 89 45 b0 8b 45 10 85 c0 0f 84 a1 00 00 00 48 8b 45 b0 <48> 8b 00 48 89 45 a8
[    5.125601] RSP: 0018:ffffb4c0c0237d88 EFLAGS: 00010246
[    5.125811] RAX: 0000000000000000 RBX: ffff9a4c41c3e000 RCX: 0000000000000000
[    5.126020] RDX: 0000000000000000 RSI: ffffb4c0c0237e48 RDI: ffff9a4c41c3e000
[    5.126228] RBP: ffffb4c0c0237df0 R08: 0000000000000000 R09: 0000000000000000
[    5.126437] R10: 0000000000000000 R11: 0000000000000000 R12: ffff9a4c41c3e0a8
[    5.126645] R13: 0000000000000000 R14: ffffb4c0c0237e48 R15: 0000000000001000
[    5.126853] FS:  00007f1c2a7fc740(0000) GS:ffff9a4c7dc80000(0000) knlGS:0000000000000000
[    5.127061] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[    5.127270] CR2: 0000000000000000 CR3: 0000000101c2a000 CR4: 00000000000006e0
[    5.127478] Call Trace:
[    5.127590]  <TASK>
[    5.127702]  vfs_read+0x2e4/0x310
[    5.127914]  ksys_read+0x6a/0xf0
[    5.128025]  do_syscall_64+0x58/0xc0
[    5.128237]  entry_SYSCALL_64_after_hwframe+0x64/0xce
[    5.128448]  </TASK>
[    5.128660] ---[ end trace 0000000000000000 ]---
[    5.130012] Kernel panic - not syncing: Fatal exception
[    5.130433] Kernel Offset: 0x1e000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
[    5.130855] ---[ end Kernel panic - not syncing: Fatal exception ]---
`

func consoleCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func consoleLinesForTest(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// consoleStateForTest is everything a ConsoleScanner reports.
type consoleStateForTest struct {
	Panic, Oops             []string
	PanicOK, OopsOK         bool
	PanicReason, OopsReason string
	Tail                    []string
	Flooded                 bool
	Bytes                   int64
	Events                  []vm.Event
}

func consoleStateOf(c *vm.ConsoleScanner) consoleStateForTest {
	var st consoleStateForTest
	st.Panic, st.PanicOK = c.Panic()
	st.Oops, st.OopsOK = c.Oops()
	st.PanicReason, st.OopsReason = c.PanicReason(), c.OopsReason()
	st.Tail = c.Tail(vm.ConsoleTailLines + 1)
	st.Flooded, st.Bytes = c.Flooded(), c.Bytes()
	for {
		select {
		case ev := <-c.Events():
			st.Events = append(st.Events, ev)
			continue
		default:
		}
		break
	}
	return st
}

// consoleFeedChunks writes data to a new scanner in random-sized chunks
// (including empty writes) chosen by rng.
func consoleFeedChunks(limit int64, data []byte, rng *rand.Rand, maxChunk int) *vm.ConsoleScanner {
	c := vm.NewConsoleScanner(limit)
	for len(data) > 0 {
		n := min(rng.Intn(maxChunk+1), len(data))
		if k, err := c.Write(data[:n]); k != n || err != nil {
			panic("Write failed")
		}
		data = data[n:]
	}
	return c
}

func TestConsolePanic(t *testing.T) {
	c := vm.NewConsoleScanner(0)
	c.Write([]byte(consoleCRLF(consolePanicText)))
	lines, ok := c.Panic()
	if !ok {
		t.Fatal("no panic found")
	}
	all := consoleLinesForTest(consolePanicText)
	if want := all[8:]; !reflect.DeepEqual(lines, want) { // panic line and the 16 after it
		t.Errorf("Panic() =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got, want := c.PanicReason(), "VFS: Unable to mount root fs on unknown-block(0,0)"; got != want {
		t.Errorf("PanicReason() = %q, want %q", got, want)
	}
	if _, ok := c.Oops(); ok {
		t.Error("Oops() found an oops in a plain panic")
	}
	select {
	case ev := <-c.Events():
		if ev.Kind != vm.EventPanic || ev.Line != 9 || ev.Reason != c.PanicReason() {
			t.Errorf("event %+v, want panic at line 9", ev)
		}
	default:
		t.Error("no panic event")
	}
	select {
	case ev := <-c.Events():
		t.Errorf("second event %+v", ev)
	default:
	}
	if tail := c.Tail(3); !reflect.DeepEqual(tail, all[len(all)-3:]) {
		t.Errorf("Tail(3) = %q, want %q", tail, all[len(all)-3:])
	}
}

func TestConsoleOops(t *testing.T) {
	c := vm.NewConsoleScanner(0)
	c.Write([]byte(consoleCRLF(consoleOopsText)))
	all := consoleLinesForTest(consoleOopsText)
	lines, ok := c.Oops()
	if !ok {
		t.Fatal("no oops found")
	}
	if want := all[1 : 1+1+vm.ConsoleCaptureLines]; !reflect.DeepEqual(lines, want) {
		t.Errorf("Oops() =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got, want := c.OopsReason(), "BUG: kernel NULL pointer dereference, address: 0000000000000000"; got != want {
		t.Errorf("OopsReason() = %q, want %q", got, want)
	}
	plines, ok := c.Panic()
	if !ok || len(plines) != 3 || plines[0] != all[len(all)-3] {
		t.Errorf("Panic() = %q, %v; want the last 3 lines", plines, ok)
	}
	if got := c.PanicReason(); got != "Fatal exception" {
		t.Errorf("PanicReason() = %q, want %q", got, "Fatal exception")
	}
	var kinds []vm.EventKind
	for len(c.Events()) > 0 {
		kinds = append(kinds, (<-c.Events()).Kind)
	}
	if !reflect.DeepEqual(kinds, []vm.EventKind{vm.EventOops, vm.EventPanic}) {
		t.Errorf("events %v, want [oops panic]", kinds)
	}
}

func TestConsoleOopsMarkers(t *testing.T) {
	tests := []struct {
		line string
		oops bool
	}{
		{"[    1.000000] WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:5534 __alloc_pages+0x2a7/0x300", true},
		{"[    1.000000] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP NOPTI", true},
		{"[    1.000000] kernel BUG at mm/slub.c:379!", true},
		{"[    1.000000] Oops: general protection fault, probably for non-canonical address", true},
		{"BUG: unable to handle page fault for address: ffffffffc0a01000", true},
		{"[    1.000000] DEBUG: nothing wrong", false},
		{"[    1.000000] kharness: BUGS: none", false},
		{"[    1.000000] NOWARNING: CPU: fine", false},
		{"[    1.000000] Kernel panic is not here", false},
	}
	for _, tt := range tests {
		c := vm.NewConsoleScanner(0)
		c.Write([]byte(tt.line + "\n"))
		if _, ok := c.Oops(); ok != tt.oops {
			t.Errorf("%q: Oops() ok = %v, want %v", tt.line, ok, tt.oops)
		}
	}
}

// TestConsoleChunks feeds the console texts in random-sized chunks and
// expects exactly what one big write gives.
func TestConsoleChunks(t *testing.T) {
	for _, text := range []string{
		consolePanicText,
		consoleCRLF(consolePanicText),
		consoleCRLF(consoleOopsText),
		consoleOopsText + strings.Repeat("x", 3000) + "\n" + consolePanicText + "partial line",
	} {
		whole := vm.NewConsoleScanner(1000)
		whole.Write([]byte(text))
		want := consoleStateOf(whole)
		if !want.PanicOK || !want.Flooded {
			t.Fatalf("whole write: %+v", want)
		}
		for seed := int64(1); seed <= 300; seed++ {
			rng := rand.New(rand.NewSource(seed))
			got := consoleStateOf(consoleFeedChunks(1000, []byte(text), rng, 1+int(seed%100)))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: chunked state differs:\n got %+v\nwant %+v", seed, got, want)
			}
		}
	}
}

func TestConsoleFlood(t *testing.T) {
	c := vm.NewConsoleScanner(100)
	c.Write([]byte(strings.Repeat("0123456789\n", 9))) // 99 bytes
	if c.Flooded() {
		t.Fatal("flooded at 99 of 100 bytes")
	}
	c.Write([]byte("a"))
	if c.Flooded() {
		t.Fatal("flooded at 100 of 100 bytes")
	}
	c.Write([]byte("b\nmore\n"))
	if !c.Flooded() || c.Bytes() != 107 {
		t.Fatalf("Flooded() = %v, Bytes() = %d; want true, 107", c.Flooded(), c.Bytes())
	}
	ev := <-c.Events()
	if ev.Kind != vm.EventFlood || ev.Line != 10 {
		t.Errorf("event %+v, want flood at line 10", ev)
	}

	// Memory stays bounded under a flood of long lines and many lines.
	c = vm.NewConsoleScanner(1 << 20)
	big := []byte(strings.Repeat("y", 1<<20) + "\n")
	for range 4 {
		c.Write(big)
	}
	for i := range 10000 {
		c.Write([]byte("line " + strings.Repeat("z", i%50) + "\n"))
	}
	if !c.Flooded() {
		t.Error("not flooded")
	}
	tail := c.Tail(1 << 20)
	if len(tail) != vm.ConsoleTailLines {
		t.Errorf("Tail kept %d lines, want %d", len(tail), vm.ConsoleTailLines)
	}
}

func TestConsoleTail(t *testing.T) {
	c := vm.NewConsoleScanner(0)
	if got := c.Tail(5); len(got) != 0 {
		t.Errorf("empty Tail(5) = %q", got)
	}
	var want []string
	for i := range 300 {
		line := strings.Repeat("l", i%7) + " " + string(rune('a'+i%26))
		want = append(want, line)
		c.Write([]byte(line + "\r\n"))
	}
	if got := c.Tail(3); !reflect.DeepEqual(got, want[297:]) {
		t.Errorf("Tail(3) = %q, want %q", got, want[297:])
	}
	if got := c.Tail(1000); !reflect.DeepEqual(got, want[300-vm.ConsoleTailLines:]) {
		t.Errorf("Tail(1000) has %d lines, want the last %d", len(got), vm.ConsoleTailLines)
	}
	if got := c.Tail(0); got != nil {
		t.Errorf("Tail(0) = %q", got)
	}
	c.Write([]byte("partial \x1b[1mbold\x1b[0m"))
	if got, want := c.Tail(2), []string{want[299], "partial bold"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Tail(2) with partial line = %q, want %q", got, want)
	}
	if got := c.Tail(1); !reflect.DeepEqual(got, []string{"partial bold"}) {
		t.Errorf("Tail(1) with partial line = %q", got)
	}
	if got := c.Tail(1000); len(got) != vm.ConsoleTailLines+1 {
		t.Errorf("Tail(1000) with partial line has %d lines, want %d", len(got), vm.ConsoleTailLines+1)
	}
	c.Write([]byte(" done\r"))
	c.Flush()
	if got := c.Tail(1); !reflect.DeepEqual(got, []string{"partial bold done"}) {
		t.Errorf("after Flush, Tail(1) = %q", got)
	}
}

func TestConsoleSanitizes(t *testing.T) {
	c := vm.NewConsoleScanner(0)
	c.Write([]byte("\x1b[1;31m[    1.000000] Kernel panic - not syncing:\x1b[0m evil \x1b]0;pwned\x07title\x07bell \xff\xfe\r\n"))
	c.Write([]byte(strings.Repeat("w", 5000) + "\n"))
	c.Write([]byte("é" + strings.Repeat("界", 2000) + "\n"))
	tail := c.Tail(10)
	if want := "[    1.000000] Kernel panic - not syncing: evil title?bell ??"; tail[0] != want {
		t.Errorf("line 1 = %q, want %q", tail[0], want)
	}
	if got := c.PanicReason(); got != "evil title?bell ??" {
		t.Errorf("PanicReason() = %q", got)
	}
	for i, l := range tail[1:] {
		if len(l) > vm.MaxConsoleLine || !strings.HasSuffix(l, "…") || !utf8.ValidString(l) {
			t.Errorf("long line %d: %d bytes, suffix %q, valid UTF-8 %v", i+2, len(l), l[len(l)-6:], utf8.ValidString(l))
		}
	}
}

func TestConsoleEventsNeverBlock(t *testing.T) {
	c := vm.NewConsoleScanner(1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			c.Write([]byte(consolePanicText + consoleOopsText))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked with nobody reading Events")
	}
	var kinds []vm.EventKind
	for len(c.Events()) > 0 {
		kinds = append(kinds, (<-c.Events()).Kind)
	}
	if want := []vm.EventKind{vm.EventPanic, vm.EventFlood, vm.EventOops}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
}

func TestConsoleConcurrent(t *testing.T) {
	c := vm.NewConsoleScanner(0)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 200 {
				c.Write([]byte(strings.Repeat("x", w+i%13) + "\n"))
			}
		}()
		go func() {
			defer wg.Done()
			for range 200 {
				c.Tail(10)
				c.Panic()
				c.Bytes()
			}
		}()
	}
	wg.Wait()
	if got := len(c.Tail(vm.ConsoleTailLines)); got != vm.ConsoleTailLines {
		t.Errorf("Tail has %d lines", got)
	}
}

// FuzzConsoleScanner checks that the scanner never panics, that chunking
// does not change what it finds, and that what it keeps is bounded and
// safe to print.
func FuzzConsoleScanner(f *testing.F) {
	f.Add([]byte(consolePanicText), int64(1))
	f.Add([]byte(consoleCRLF(consoleOopsText)), int64(2))
	f.Add([]byte("\x1b[31mBUG: \xff\r\n"+strings.Repeat("a", 1100)+"\nKernel panic - not syncing:"), int64(3))
	f.Fuzz(func(t *testing.T, data []byte, seed int64) {
		whole := vm.NewConsoleScanner(4096)
		whole.Write(data)
		want := consoleStateOf(whole)
		got := consoleStateOf(consoleFeedChunks(4096, data, rand.New(rand.NewSource(seed)), 64))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunked state differs:\n got %+v\nwant %+v", got, want)
		}
		if len(want.Tail) > vm.ConsoleTailLines+1 || len(want.Panic) > vm.ConsoleCaptureLines+1 || len(want.Oops) > vm.ConsoleCaptureLines+1 {
			t.Fatalf("kept too many lines: tail %d, panic %d, oops %d", len(want.Tail), len(want.Panic), len(want.Oops))
		}
		for _, group := range [][]string{want.Tail, want.Panic, want.Oops, {want.PanicReason, want.OopsReason}} {
			for _, l := range group {
				if len(l) > vm.MaxConsoleLine || !utf8.ValidString(l) {
					t.Fatalf("unsafe line (%d bytes): %q", len(l), l)
				}
				for _, r := range l {
					if r == 0x1b || r == '\n' || r == '\r' || (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
						t.Fatalf("control character %U in %q", r, l)
					}
				}
			}
		}
	})
}
