package graph

import (
	"crypto/sha256"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"

	bfc "github.com/bfc-repro/bfc"
)

// BenchmarkHashSources hashes every embedded Go file of the module the way
// code identity does (tokens: the comment-free token stream) and, for the
// ratio, the way it did before (bytes: SHA-256 of the file); both include
// reading and parsing the file's imports.
func BenchmarkHashSources(b *testing.B) {
	var files []string
	var size int64
	fs.WalkDir(bfc.Source, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
			src, _ := fs.ReadFile(bfc.Source, p)
			size += int64(len(src))
		}
		return nil
	})
	for _, mode := range []string{"tokens", "bytes"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				h := sha256.New()
				fset := token.NewFileSet()
				for _, f := range files {
					src, _ := fs.ReadFile(bfc.Source, f)
					af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly|parser.ParseComments)
					if err != nil {
						b.Fatal(err)
					}
					if mode == "bytes" {
						h.Write(src)
					} else if err := hashGoFile(h, fset, af, src); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
