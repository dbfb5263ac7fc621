package store_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Example opens a store, puts an output table and the manifest that
// commits it, reads the table back through the manifest, and verifies the
// store before and after a byte of the object is flipped.
func Example() {
	dir, err := os.MkdirTemp("", "bfc-store-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "store"), true)
	if err != nil {
		log.Fatal(err)
	}

	// A stage's output: an Arrow table, stored with metadata naming its key.
	rec, err := kit.NewTable().Float64("loss", []float64{0.5, 0.25, 0.125}).Record()
	if err != nil {
		log.Fatal(err)
	}
	defer rec.Release()
	comps := []store.Component{store.NewComponent("kind", "example"), store.NewComponent("param:n", "3")}
	key, err := store.KeyOf(comps)
	if err != nil {
		log.Fatal(err)
	}
	file, _ := store.EncodeTable(rec, map[string]string{"bfc.key": key.String()})
	plain, _ := store.EncodeTable(rec, nil)
	obj, err := st.PutObject(file)
	if err != nil {
		log.Fatal(err)
	}
	m := &store.Manifest{Format: store.FormatVersion, Key: key, Kind: "example", Stage: "example", Components: comps,
		Outputs: []store.Output{{Name: "history", File: obj, Data: id.DataOf(plain), Size: int64(len(file)), Rows: rec.NumRows()}}}
	if err := st.PutManifest(m); err != nil { // the commit
		log.Fatal(err)
	}

	// Read it back by key, as a downstream stage does.
	got, err := st.Manifest(key)
	if err != nil {
		log.Fatal(err)
	}
	o, _ := got.Output("history")
	b, err := st.ReadObject(o.File) // rehashed against its name
	if err != nil {
		log.Fatal(err)
	}
	back, meta, err := store.DecodeTable(b)
	if err != nil {
		log.Fatal(err)
	}
	defer back.Release()
	fmt.Println("rows:", back.NumRows(), "key in metadata:", meta["bfc.key"] == key.String())

	rep, err := st.Verify()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("objects:", rep.Objects, "manifests:", rep.Manifests, "problems:", len(rep.Problems))

	// Flip one byte of the object: Verify names the file.
	p := st.ObjectPath(obj)
	os.Chmod(p, 0o644)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o444)
	rep, _ = st.Verify()
	for _, pr := range rep.Problems {
		fmt.Println("problem in", filepath.Base(pr.Path) == obj.String()+".arrow")
	}
	// Output:
	// rows: 3 key in metadata: true
	// objects: 1 manifests: 1 problems: 0
	// problem in true
}
