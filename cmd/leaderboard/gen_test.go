package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"--out", dir}, 2, "--entries is required"},
		{[]string{"--entries", "0", "--out", dir}, 2, "--entries is required"},
		{[]string{"--entries", "100"}, 2, "--out is required"},
		{[]string{"--entries", "x", "--out", dir}, 2, "-entries"},
		{[]string{"--entries", "100", "--contests", "51", "--out", dir}, 2, "--contests must be"},
		{[]string{"--entries", "100", "--players", "10", "--out", dir}, 2, "--lineup-size must be"},
		{[]string{"--entries", "100", "--players", "1", "--out", dir}, 2, "--players must be"},
		{[]string{"--entries", "100", "--match", "-3", "--out", dir}, 2, "--match must be"},
		{[]string{"--entries", "100", "--out", dir, "extra"}, 2, `unexpected argument "extra"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"gen"}, tc.args...), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("bad flags left %d files", len(ents))
	}
}

func TestGenWritesDataset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dataset")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"gen", "--entries", "5000", "--seed", "3", "--out", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, name := range []string{"entries.parquet", "points.parquet", "points2.parquet"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if s := stderr.String(); !strings.Contains(s, "5000 entries, 178 contests") || !strings.Contains(s, "teams") ||
		!strings.Contains(s, "users") {
		t.Errorf("summary missing from stderr: %q", s)
	}
}
