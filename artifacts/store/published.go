package store

import (
	"errors"
	"slices"

	"github.com/apache/arrow/go/v15/arrow/array"
)

// PublishPrefix starts the output names of published files. The engine
// stores each file a stage publishes (a figure, a report fragment) as an
// output "publish.DIR.NAME": a one-row table of dir, name and bytes.
const PublishPrefix = "publish."

// PublishedFile decodes a published-file output.
func PublishedFile(data []byte) (dir, name string, content []byte, err error) {
	rec, _, err := DecodeTable(data)
	if err != nil {
		return "", "", nil, err
	}
	defer rec.Release()
	col := func(n string) any {
		for i, f := range rec.Schema().Fields() {
			if f.Name == n {
				return rec.Column(i)
			}
		}
		return nil
	}
	d, ok1 := col("dir").(*array.String)
	nm, ok2 := col("name").(*array.String)
	by, ok3 := col("bytes").(*array.Binary)
	if !ok1 || !ok2 || !ok3 || rec.NumRows() != 1 {
		return "", "", nil, errors.New("not a published-file table (one row of dir, name, bytes)")
	}
	return d.Value(0), nm.Value(0), slices.Clone(by.Value(0)), nil
}
