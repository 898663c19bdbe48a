package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"first contents\n", "2\n"} {
		if err := Write(dir, "f", []byte(s)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != s {
			t.Fatalf("read %q, %v; want %q", b, err, s)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestWriteNamesWhatFailed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := Write(dir, "f", []byte("x"))
	if err == nil {
		t.Fatal("wrote into a directory that does not exist")
	}
	if want := "cannot write f in " + dir; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Fatalf("error %q does not start with %q", err, want)
	}
}
