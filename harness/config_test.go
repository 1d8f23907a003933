package harness

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

const goodConfig = `
boots = 5
accel = "tcg"
timeout = "30s"

[bench]
run = "NullSyscall"
benchtime = "20ms"
count = 3

[[kernel]]
name = "6.1-cloud"
family = "6.1"

[[kernel]]
name = "local"
path = "/tmp/bzImage"

[[config]]
name = "default"

[[config]]
name = "pti-on"
cmdline = "pti=on"
smp = 2
`

func TestParseConfigGood(t *testing.T) {
	c, err := ParseConfig("good.toml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Boots != 5 || c.Accel != "tcg" || c.BootTimeout() != 30*time.Second || c.Retries != 2 {
		t.Errorf("top level: %+v", c)
	}
	if len(c.Kernels) != 2 || c.Kernels[1].Path != "/tmp/bzImage" || len(c.Configs) != 2 {
		t.Errorf("tables: %+v %+v", c.Kernels, c.Configs)
	}
	if c.Configs[0].SMP != 1 || c.MaxSMP() != 2 {
		t.Errorf("smp: %+v, max %d", c.Configs, c.MaxSMP())
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		want      string
	}{
		{"unknown top key", "boots = 5\nbootz = 3\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 2, `unknown key "bootz"`},
		{"unknown nested key", "[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\ncolour = \"red\"\n", 4, `unknown key "kernel.colour"`},
		{"wrong type", "boots = \"five\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 1, "boots"},
		{"syntax", "boots = 5\n[[kernel]\n", 2, ""},
		{"boots zero", "retries = 1\nboots = 0\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 2, "boots = 0"},
		{"bad accel", "accel = \"xen\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 1, `accel = "xen"`},
		{"bad timeout", "[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n\ntimeout = \"soon\"\n", 5, ""},
		{"bad benchtime", "[bench]\ncount = 3\nbenchtime = \"-1s\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 3, "bench.benchtime"},
		{"no kernels", "boots = 5\n", 0, "no [[kernel]]"},
		{"bad kernel name", "[[kernel]]\nname=\"a b\"\nfamily=\"6.1\"\n", 2, `kernel name "a b"`},
		{"second kernel bad", "[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n[[kernel]]\nname=\"b\"\n", 5, `kernel "b"`},
		{"duplicate config", "[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n[[config]]\nname=\"x\"\n[[config]]\nname=\"x\"\n", 7, "used twice"},
		{"smp", "[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n[[config]]\nname=\"x\"\nsmp = -2\n", 6, "smp = -2"},
		{"reserved cmdline", "[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n[[config]]\nname=\"x\"\ncmdline=\"kharness.mode=hang\"\n", 6, "set by kharness"},
		{"kernel name with --", "[[kernel]]\nname=\"a--b\"\nfamily=\"6.1\"\n", 2, `without "--"`},
		{"config name with --", "[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n[[config]]\nname=\"b--c\"\n", 5, `without "--"`},
		{"huge timeout", "timeout = \"999999h\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 1, "5s to 24h"},
		{"tiny timeout", "timeout = \"1ns\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 1, "5s to 24h"},
		{"huge benchtime", "[bench]\nbenchtime = \"999999h\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 2, "1ms to 1m"},
		{"long cmdline", "[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n[[config]]\nname=\"x\"\ncmdline=\"" + strings.Repeat("quiet ", 2000) + "\"\n", 6, "more than the 2047"},
		{"bad insns", "insns = \"yes\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 1, `insns = "yes"`},
		{"bad firmware", "boots = 5\nfirmware = \"ovmf\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 2, `firmware = "ovmf"`},
		{"firmware not there", "firmware = \"/no/such.rom\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 1, "/no/such.rom"},
		{"run with space", "[bench]\nrun = \"a b\"\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n", 2, "bench.run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("m.toml", []byte(tc.src))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if ce.File != "m.toml" || (tc.line != 0 && ce.Line != tc.line) {
				t.Errorf("err = %v: want file m.toml line %d", err, tc.line)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v: want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestShippedConfigsParse(t *testing.T) {
	for _, f := range []string{"../configs/default.toml", "../configs/nightly.toml", "../configs/suite.toml", "../configs/seed.toml", "../configs/fidelity.toml", "../configs/entries.toml", "../configs/history.toml", "../configs/kstack.toml", "../configs/syscall2002.toml", "../configs/tail.toml", "../configs/tsc.toml", "../configs/switches.toml"} {
		c, err := LoadConfig(f)
		if err != nil {
			t.Fatal(err)
		}
		// fidelity compares Go and C within each boot; history and kstack
		// (and tsc) are read by their exact counts, which 2 boots a side decide.
		if c.Boots < 5 && !strings.HasSuffix(f, "fidelity.toml") && !strings.HasSuffix(f, "history.toml") && !strings.HasSuffix(f, "kstack.toml") && !strings.HasSuffix(f, "tsc.toml") {
			t.Errorf("%s: %d boots: fewer than 5 a side cannot call a Mann-Whitney difference at a useful alpha", f, c.Boots)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(goodConfig))
	if b, err := os.ReadFile("../configs/default.toml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("boots = 5\n[[kernel]]\nname=\"a\"\nfamily=\"6.1\"\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := ParseConfig("fuzz.toml", src)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a *ConfigError: %v", err)
			}
			return
		}
		if c.Boots < 1 || len(c.Kernels) == 0 || len(c.Configs) == 0 || c.BootTimeout() <= 0 {
			t.Fatalf("accepted an invalid config: %+v", c)
		}
		for _, b := range c.Configs {
			if !nameRE.MatchString(b.Name) || strings.Contains(b.Cmdline, "kharness.") {
				t.Fatalf("accepted a bad boot config %+v", b)
			}
		}
	})
}
