package store

import (
	"encoding/json"
	"fmt"
	"testing"
)

// benchManifest is a manifest of the size a sweep point has: ten key
// components, two outputs and a full run record.
func benchManifest(b *testing.B) []byte {
	b.Helper()
	var cs []Component
	cs = append(cs, NewComponent("kind", "train"))
	for i := 0; i < 7; i++ {
		cs = append(cs, NewComponent(fmt.Sprintf("param:p%d", i), fmt.Sprint(i*17)))
	}
	cs = append(cs, NewComponent("seed", "master=1 seed=3"), NewComponent("code.pkg:github.com/bfc-repro/bfc/stages/kinds/train", "0123456789abcdef0123456789abcdef"))
	key, err := KeyOf(cs)
	if err != nil {
		b.Fatal(err)
	}
	m := &Manifest{Format: FormatVersion, Key: key, Kind: "train", Stage: "E1_train[seed=3]", Components: cs,
		Outputs: []Output{{Name: "weights", Size: 1 << 20, Rows: 100}, {Name: "curve", Size: 4096, Rows: 10}},
		Run: RunRecord{Start: "2026-12-03T23:39:58.973093175Z", WallSeconds: 1.5, UserSeconds: 1.4, SysSeconds: 0.01, MaxRSSBytes: 198656000,
			Threads: 1, Host: "vm", GoVersion: "go1.26.8-X:simd", Program: "github.com/bfc-repro/bfc@(devel)", BuildTags: "fastblas", Executor: "local",
			Log: "/home/u/bfc/.bfc/logs/0123.log"}}
	m.Outputs[0].File[0], m.Outputs[1].File[0] = 1, 2
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkParseManifest times decoding and validating one manifest, which
// every status and no-op run does once per point.
func BenchmarkParseManifest(b *testing.B) {
	data := benchManifest(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseManifest(data); err != nil {
			b.Fatal(err)
		}
	}
}
