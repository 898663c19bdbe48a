// Package atomicfile writes small files that must survive a crash whole: the cycle
// high-water marks of the worker's ticker and of the coordinator, and the directory
// syncs of the embedded store's saves.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write writes data to dir/name through a temporary file: written, fsynced, renamed over
// the old file, and the directory fsynced. After it returns, a crash leaves either the
// old contents or data, never a mix, and cannot lose the rename.
func Write(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write %s in %s: %w", name, dir, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err == nil {
		err = SyncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write %s in %s: %w", name, dir, err)
	}
	return nil
}

// SyncDir fsyncs a directory, so that a rename or removal in it survives a power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync directory %s: %w", dir, err)
	}
	return nil
}
