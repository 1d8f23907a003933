package attribute

import (
	"slices"

	"kharness/results/show"
	"kharness/results/stats"
	"kharness/results/store"
)

// AttributionFindings is a as finding reports (show.Finding), one a
// benchmark whose kernel count differs between the kernels: A is the base,
// B the side that changed. Each names a's boots, and reproduces with
// reproduce and the attribute command.
func AttributionFindings(a *Attribution, cmdline string, reproduce []string) ([]show.Finding, error) {
	boots, err := store.LoadBoots(a.Dir)
	if err != nil {
		return nil, err
	}
	var out []show.Finding
	for _, b := range a.Benches {
		if b.B == b.A {
			continue
		}
		f := show.Finding{Benchmark: b.Name, Unit: "kinsns/op", Call: stats.CallImprovement, Delta: b.B - b.A}
		if b.B > b.A {
			f.Call = stats.CallRegression
		}
		cfg := store.BootConfig{Name: attributeConfigName, Cmdline: cmdline}
		f.A = show.FindingSide{Kernel: a.A, Config: cfg, Value: b.A, Boots: attributedBoots(boots, a.A.Label)}
		f.B = show.FindingSide{Kernel: a.B, Config: cfg, Value: b.B, Boots: attributedBoots(boots, a.B.Label)}
		w := &stats.Why{}
		var sum float64
		for i, fc := range b.Funcs {
			sum += fc.Delta
			if i < stats.WhyTop {
				w.Funcs = append(w.Funcs, stats.FuncDelta{Name: fc.Name, A: fc.A, B: fc.B, Delta: fc.Delta})
			} else if fc.Delta != 0 {
				w.Others++
				w.OthersDelta += fc.Delta
			}
		}
		w.Funcs = slices.DeleteFunc(w.Funcs, func(fd stats.FuncDelta) bool { return fd.Delta == 0 })
		w.Rest = f.Delta - sum
		if len(f.A.Boots) > 0 && len(f.B.Boots) > 0 {
			w.BootA, w.BootB = f.A.Boots[0], f.B.Boots[0]
		}
		f.Why = w
		f.Reproduce = append(slices.Clone(reproduce), show.AttributeCommand(&f))
		out = append(out, f)
	}
	return out, nil
}

// attributedBoots is the directories of the ok boots of an attribution's
// kernel label.
func attributedBoots(boots []*store.BootRecord, label string) []string {
	var out []string
	for _, b := range boots {
		if b.Status.OK() && b.Kernel.Label == label {
			out = append(out, b.Dir)
		}
	}
	return out
}
