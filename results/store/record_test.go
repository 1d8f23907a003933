package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	for _, content := range []string{"first\n", "second, longer\n"} {
		if err := WriteFileAtomic(path, []byte(content), 0o640); err != nil {
			t.Fatalf("WriteFileAtomic: %v", err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("content = %q, want %q", got, content)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q, want only f.txt", names)
	}
}

func TestWriteFileAtomicRenameFails(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteFileAtomic(target, []byte("data"), 0o644)
	if err == nil {
		t.Fatal("WriteFileAtomic over a directory succeeded")
	}
	t.Logf("error: %v", err)
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "target" {
		t.Errorf("directory holds %q after a failed write, want only target", names)
	}
}

func TestWriteFileAtomicNoDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "f")
	if err := WriteFileAtomic(path, []byte("x"), 0o644); err == nil {
		t.Fatal("WriteFileAtomic into a missing directory succeeded")
	}
}

func TestRecordJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "boot.json")
	in := &BootRecord{Schema: SchemaVersion, Cell: "k--c", Boot: 3, Attempt: 2, Status: StatusPanic,
		HostLoad: [3]float64{0.5, 1, 2}, Argv: []string{"qemu", "-m", "512"}, Dir: "not stored"}
	if err := WriteJSONAtomic(path, in); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, key := range []string{`"host_load"`, `"accel_requested"`, `"bench_sha256"`, `"status": "panic"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("boot.json lacks %s:\n%s", key, data)
		}
	}
	out := new(BootRecord)
	if err := readJSON(path, out); err != nil {
		t.Fatal(err)
	}
	if out.Dir != "" || out.Cell != in.Cell || out.HostLoad != in.HostLoad || out.Status.OK() {
		t.Errorf("read back %+v", out)
	}
	if !StatusOK.OK() || StatusHang.OK() {
		t.Error("Status.OK is wrong")
	}
}
