package mitigations

import (
	"strings"
	"testing"

	"kharness/harness"
)

// The matrix follows the probe: one config a mitigation the kernel runs,
// pti=on where Meltdown needs no PTI, mitigations=off and the kstack
// offset always; an unknown mitigation is a note, not a guess.
func TestKnobs(t *testing.T) {
	vulns := map[string]map[string]string{
		"6.12": {
			"meltdown":          "Not affected",
			"spectre_v1":        "Mitigation: usercopy/swapgs barriers and __user pointer sanitization",
			"spectre_v2":        "Mitigation: Retpolines; STIBP: disabled; RSB filling; PBRSB-eIBRS: Not affected; BHI: Not affected",
			"spec_store_bypass": "Vulnerable",
			"future_bug":        "Mitigation: something new",
		},
		"6.1": {
			"meltdown":   "Mitigation: PTI",
			"spectre_v2": "Mitigation: Retpolines",
		},
	}
	knobs, notes := Knobs(vulns)
	var got []string
	for _, k := range knobs {
		got = append(got, k.Config+"="+k.Cmdline)
	}
	want := []string{
		"mitigations-off=mitigations=off",
		"pti-off=pti=off",
		"spectre-v2-off=spectre_v2=off",
		"pti-on=pti=on",
		"spectre-v1-off=nospectre_v1",
		"randomize-kstack-offset-off=randomize_kstack_offset=off",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("knobs\n%v\nwant\n%v", got, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "future_bug") {
		t.Errorf("notes %q, want one naming future_bug", notes)
	}
	for _, k := range knobs {
		if k.Cmdline == "spectre_v2=off" && (!strings.Contains(k.Why, "6.1: spectre_v2") || !strings.Contains(k.Why, "6.12: spectre_v2")) {
			t.Errorf("spectre_v2 knob says why %q: want both kernels", k.Why)
		}
	}
	// Every config the matrix file names parses as a config.
	o := MitigationsOptions{Boots: 5, Bench: DefaultMitigationsBench, Accel: "tcg"}
	cfg, err := harness.ParseConfig("m.toml", []byte(mitigationsConfig(o, []harness.KernelConfig{{Name: "6.12", Family: "6.12"}}, knobs, false)))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Configs) != len(knobs)+1 || cfg.Configs[0].Name != "default" {
		t.Errorf("matrix has %d configs, want default and %d knobs", len(cfg.Configs), len(knobs))
	}
}
