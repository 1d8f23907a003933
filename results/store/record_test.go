package store

import (
	"kharness/internal/atomicfile"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecordJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "boot.json")
	in := &BootRecord{Schema: SchemaVersion, Cell: "k--c", Boot: 3, Attempt: 2, Status: StatusPanic,
		HostLoad: [3]float64{0.5, 1, 2}, Argv: []string{"qemu", "-m", "512"}, Dir: "not stored"}
	if err := atomicfile.WriteJSON(path, in); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, key := range []string{`"host_load"`, `"accel_requested"`, `"bench_sha256"`, `"status": "panic"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("boot.json lacks %s:\n%s", key, data)
		}
	}
	out := new(BootRecord)
	if err := ReadJSON(path, out); err != nil {
		t.Fatal(err)
	}
	if out.Dir != "" || out.Cell != in.Cell || out.HostLoad != in.HostLoad || out.Status.OK() {
		t.Errorf("read back %+v", out)
	}
	if !StatusOK.OK() || StatusHang.OK() {
		t.Error("Status.OK is wrong")
	}
}
