package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesWholeOrNothing(t *testing.T) {
	fail := errors.New("disk on fire")
	cases := []struct {
		name    string
		fill    func(io.Writer) error
		tmpDir  bool // use a separate temporary directory
		wantErr error
		want    string // content of the target afterwards
	}{
		{"new content", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, false, nil, "new"},
		{"through a temp dir", func(w io.Writer) error { _, err := io.WriteString(w, "via tmp"); return err }, true, nil, "via tmp"},
		{"fill fails half way", func(w io.Writer) error { io.WriteString(w, "half"); return fail }, false, fail, "old"},
		{"fill fails in temp dir", func(w io.Writer) error { return fail }, true, fail, "old"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sub", "f.txt")
			if err := WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			tmp := ""
			if c.tmpDir {
				tmp = filepath.Join(dir, "tmp")
			}
			n, err := Write(path, tmp, 0o444, c.fill)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			b, _ := os.ReadFile(path)
			if string(b) != c.want {
				t.Fatalf("content %q, want %q", b, c.want)
			}
			if err == nil {
				fi, _ := os.Stat(path)
				if n != int64(len(c.want)) || fi.Mode().Perm() != 0o444 {
					t.Fatalf("wrote %d bytes with mode %v, want %d and 0444", n, fi.Mode().Perm(), len(c.want))
				}
			}
			for _, d := range []string{filepath.Dir(path), tmp} {
				if d == "" {
					continue
				}
				ents, _ := os.ReadDir(d)
				for _, e := range ents {
					if strings.HasSuffix(e.Name(), ".tmp") {
						t.Fatalf("temporary file %s left in %s", e.Name(), d)
					}
				}
			}
		})
	}
}
