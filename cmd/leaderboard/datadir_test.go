package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A --data-dir that does not exist yet is created: the cycle high-water mark is written
// before the store's first save made the directory (standalone used to fail to start).
func TestDataDirCreated(t *testing.T) {
	e := newE2E(t)
	e.cfg.store.DataDir = "" // set again by validate
	e.cfg.dataDir = filepath.Join(t.TempDir(), "not", "yet")
	if err := e.cfg.validate(); err != nil {
		t.Fatal(err)
	}
	e.start()
	eventually(t, "a cycle high-water mark in the new data dir", 20*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(e.cfg.dataDir, "cycle.hwm"))
		return err == nil
	})
	e.kill()
}
