package dataset

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestDamagedFiles: a file with a flipped byte is an error naming the file, never a
// crash. The positions below made the Parquet library panic (in its footer decoding) on
// this exact file; FLIP=1 tries every byte (minutes).
func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(context.Background(), GenConfig{Entries: 3000, Seed: 3}, dir, nil); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(filepath.Join(dir, EntriesFile))
	if len(orig) != 36012 {
		t.Skipf("generated file is %d bytes, not the 36012 the positions were found in", len(orig))
	}
	bad := filepath.Join(dir, "bad.parquet")
	type flip struct {
		pos int
		xor byte
	}
	flips := []flip{{35056, 0x01}, {35166, 0x01}, {35170, 0xff}, {35183, 0x01}}
	if os.Getenv("FLIP") != "" {
		flips = nil
		for pos := range orig {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				flips = append(flips, flip{pos, x})
			}
		}
	}
	for _, f := range flips {
		b := append([]byte(nil), orig...)
		b[f.pos] ^= f.xor
		if err := os.WriteFile(bad, b, 0o644); err != nil {
			t.Fatal(err)
		}
		err := ReadEntries(context.Background(), bad, 0, func(arrow.RecordBatch) error { return nil })
		if os.Getenv("FLIP") == "" && (err == nil || !strings.Contains(err.Error(), bad)) {
			t.Errorf("byte %d ^ %#x: got %v, want an error naming the file", f.pos, f.xor, err)
		}
	}
}
