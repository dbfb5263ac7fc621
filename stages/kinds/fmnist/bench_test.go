package fmnist

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadDebian reads and preprocesses the E8 subset (20000
// training and all 10000 test images, pooled to 14x14) from the Debian
// files: decompressing the 26 MB of training images dominates.
func BenchmarkReadDebian(b *testing.B) {
	if _, err := os.Stat(filepath.Join(DefaultDir, TrainImages+".gz")); err != nil {
		b.Skipf("dataset-fashion-mnist not installed: %v", err)
	}
	paths := filePaths(DefaultDir, true)
	b.ReportAllocs()
	for range b.N {
		if _, err := Read(os.ReadFile, paths, Config{NTrain: 20000, NTest: 10000, Normalize: "global", Pool: 2}); err != nil {
			b.Fatal(err)
		}
	}
}
