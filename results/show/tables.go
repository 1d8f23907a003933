package show

import (
	"fmt"
	"io"
	"kharness/results/stats"
	"kharness/results/stream"
	"strings"
	"text/tabwriter"
)

// The seed post's own figures (Larry McVoy, LKML, 2 Jan 2003, a 1.6 GHz
// Athlon): 548K context switches a second, "2 system calls and a context
// switch" in 1.8 µs.
const (
	SeedPostCtxPerSec = 548_000
	SeedPostHopMicros = 1.8
)

// WriteSeed prints rows as the seed post's vmstat-style table, beside the
// post's own numbers. accel is the accelerator of the run ("tcg" or "kvm").
func WriteSeed(w io.Writer, rows []stats.SeedRow, accel string) error {
	fmt.Fprintf(w, "lat_ctx, 2 processes, 0 KiB: a ring of two processes passing a byte over pipes\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	exact := false
	for _, r := range rows {
		exact = exact || r.HopInsns > 0
	}
	head, post := "", ""
	if exact {
		head, post = "insns a hop\tin the kernel\t", "-\t-\t"
	}
	fmt.Fprintln(tw, "kernel\tconfig\tboots\tctx/s\tint/s\tusr\tsys\tidl\t2 syscalls + 1 switch\tswitch alone\t"+head)
	fmt.Fprintf(tw, "2.5 (the post)\tAthlon 1.6GHz\t-\t%s\t-\t-\t-\t-\t%.1f µs\t-\t%s\n", si(SeedPostCtxPerSec), SeedPostHopMicros, post)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.1f µs\t%.1f µs\t", stream.Printable(r.Kernel, 80), stream.Printable(r.Config, 80), r.Boots,
			si(r.CtxPerSec), si(r.IntrPerSec), r.Usr, r.Sys, r.Idl, r.HopMicros, r.SwitchMicros)
		switch {
		case exact && r.HopInsns > 0:
			fmt.Fprintf(tw, "%.1f\t%.1f\t", r.HopInsns, r.HopKInsns)
		case exact:
			fmt.Fprint(tw, "-\t-\t")
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nThe post: Larry McVoy, LKML, 2 Jan 2003, lat_ctx on a 1.6 GHz Athlon: \"2 system calls and a\n"+
		"context switch\" in 1.8 µs, 548K context switches a second.\n"+
		"2 syscalls + 1 switch: one hop of the ring (a write, a read and a switch), as the post counts it;\n"+
		"switch alone: the hop less one process writing and reading its own pipe (LMbench's lat_ctx).\n"+
		"ctx/s, int/s, usr/sys/idl: /proc/stat over each sample, as vmstat shows them; medians over boots.\n")
	if exact {
		fmt.Fprintf(w, "insns a hop: guest instructions of one hop, counted exactly under TCG (its write, read, switch\n"+
			"and the peer's side), and those in the kernel: the part no host or CPU model changes.\n")
	}
	if accel != "kvm" {
		fmt.Fprintf(w, "These numbers are EMULATED (QEMU %s): they time QEMU's translation of the guest, not a\n"+
			"real CPU, and are not comparable with the post's hardware numbers.\n", strings.ToUpper(accel))
	}
	return nil
}

// si formats v with a K or M suffix, like the post's "548K".
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fK", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// WriteFidelity prints the Go ÷ C table.
func WriteFidelity(w io.Writer, rows []stats.FidelityRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kernel\tconfig\tcase\tboots\tGo ns/op\tC ns/op\tGo ÷ C\tpaired\t95% CI\tpairs\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%.1f\t%.3f\t%.3f\t%.3f-%.3f\t%d\t\n", stream.Printable(r.Kernel, 80), stream.Printable(r.Config, 80), stream.Printable(r.Case, 200), r.Boots,
			r.Go, r.C, r.Ratio(), r.Paired, r.PairedLo, r.PairedHi, r.Pairs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nGo and C samples alternate in the same boot with the same iteration count. Go ÷ C: medians over\n"+
		"samples, then boots. paired: the median ratio of each Go sample to the C sample after it,\n"+
		"pooled over boots (drift of the machine cancels out of each ratio), with the distribution-free\n"+
		"95% confidence interval of that median.")
	return writeFidelityCounts(w, rows)
}

// writeFidelityCounts prints, for the rows with exact counts, each loop's
// instructions per operation and the kernel's share of them: the same
// kernel path taken from Go and from C costs the kernel the same, so the
// kernel columns should agree where the user columns need not.
func writeFidelityCounts(w io.Writer, rows []stats.FidelityRow) error {
	n := 0
	for _, r := range rows {
		if r.Counted() {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nExact counts, instructions per operation (medians over boots):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kernel\tconfig\tcase\tGo insns\tC insns\tGo kernel\tC kernel\tkernel C - Go\t")
	for _, r := range rows {
		if !r.Counted() {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%+.1f (%+.2f%%)\t\n", stream.Printable(r.Kernel, 80), stream.Printable(r.Config, 80), stream.Printable(r.Case, 200),
			r.GoInsns, r.CInsns, r.GoKInsns, r.CKInsns, r.CKInsns-r.GoKInsns, 100*(r.CKInsns-r.GoKInsns)/r.GoKInsns)
	}
	return tw.Flush()
}

// Linus's numbers, December 2002 (a 2.4 GHz Pentium 4): getppid through
// INT $0x80 and through SYSENTER, in cycles.
const (
	Linus2002Int80Cycles    = 1761
	Linus2002SysenterCycles = 641
)

// WriteSyscall2002 prints rows beside Linus's 2002 numbers. accel is the
// runs' accelerator.
func WriteSyscall2002(w io.Writer, rows []stats.Syscall2002Row, accel string) error {
	fmt.Fprintf(w, "getppid from a 32-bit process: INT $0x80 against the vDSO's __kernel_vsyscall\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kernel\tconfig\tvendor\tvsyscall is\tboots\tint $0x80\tfast entry\tint80 ÷ fast\tp\tcall\tinsns int80\tinsns fast\t(boots)\t64-bit syscall\t")
	for _, r := range rows {
		ins80, insf := "-", "-"
		if r.Int80Insns > 0 {
			ins80, insf = fmt.Sprintf("%.0f", r.Int80Insns), fmt.Sprintf("%.0f", r.FastInsns)
		}
		s64 := "-"
		if r.Syscall64NS > 0 {
			s64 = fmt.Sprintf("%.0f ns", r.Syscall64NS)
		}
		times := []string{"-", "-", "-", "-"}
		if r.Boots > 0 {
			times = []string{fmt.Sprintf("%.0f ns", r.Int80NS), fmt.Sprintf("%.0f ns", r.FastNS), fmt.Sprintf("×%.2f", r.Ratio), fmt.Sprintf("%.3f", r.P)}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n",
			stream.Printable(r.Kernel, 40), stream.Printable(r.Config, 40), stream.Printable(r.Vendor, 40), stream.Printable(r.Vsyscall, 40), r.Boots,
			times[0], times[1], times[2], times[3], r.Call, ins80, insf, r.CountedBoots, s64)
	}
	fmt.Fprintf(tw, "Linus, Dec 2002\tP4 2.4 GHz\tGenuineIntel\tsysenter\t\t%d cyc\t%d cyc\t×%.2f\t\t\t\t\t\t\t\n",
		Linus2002Int80Cycles, Linus2002SysenterCycles, float64(Linus2002Int80Cycles)/Linus2002SysenterCycles)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nfast entry: __kernel_vsyscall, patched at boot to SYSENTER (Intel) or SYSCALL (AMD); p: Mann-Whitney U over per-boot medians\n")
	if accel == "tcg" {
		fmt.Fprintf(w, "under TCG the times are QEMU's emulation of the instructions, not a CPU's cycles: the ratio is QEMU's; the instruction counts are the kernel's\n")
	}
	_, err := fmt.Fprintf(w, "the INT $0x80 path is the same from a 32-bit process and from a 64-bit one (NullSyscall/call=getppid/entry=int80)\n")
	return err
}
