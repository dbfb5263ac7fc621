// Package atomicfile writes files so that a reader, or the file system
// after a crash, sees either the old content or all of the new one, never
// a prefix. It is the only place in bfc that renames files: the store's
// objects, manifests, refs, pins and checked cache, job files, published
// figures and review bundles all go through Write.
//
// The protocol: create a temporary file (in the target's directory, or in
// a directory the caller names on the same file system), write the
// content, fsync it, set its mode, close it, rename it over the target and
// fsync the target's directory, so that the rename itself is durable. On
// any error the temporary file is removed and the target is untouched.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically with mode perm, creating
// path's directory if needed. The temporary file lives beside path.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	_, err := Write(path, "", perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}

// Write writes path atomically with mode perm from what fill writes (through
// a buffer), and returns the number of bytes written. The temporary file is
// created in tmpDir, which must be on path's file system, or beside path
// when tmpDir is "". Missing directories are created.
func Write(path, tmpDir string, perm os.FileMode, fill func(io.Writer) error) (int64, error) {
	dir := filepath.Dir(path)
	if tmpDir == "" {
		tmpDir = dir
	}
	for _, d := range []string{dir, tmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, fmt.Errorf("write %s: %w", path, err)
		}
	}
	f, err := os.CreateTemp(tmpDir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	n, err := fillSync(f, perm, fill)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return 0, err
	}
	return n, nil
}

// fillSync writes the content into f, syncs it and sets its mode.
func fillSync(f *os.File, perm os.FileMode, fill func(io.Writer) error) (int64, error) {
	cw := &countWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := fill(bw); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync: %w", err)
	}
	if err := f.Chmod(perm); err != nil {
		return 0, err
	}
	return cw.n, nil
}

// SyncDir fsyncs a directory, making renames and removals in it durable.
// File systems that cannot sync a directory are not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
