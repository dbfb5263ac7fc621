package store

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// seekBuffer is an in-memory io.WriteSeeker for the Arrow file writer.
type seekBuffer struct {
	buf []byte
	pos int
}

func (b *seekBuffer) Write(p []byte) (int, error) {
	if need := b.pos + len(p); need > len(b.buf) {
		b.buf = append(b.buf, make([]byte, need-len(b.buf))...)
	}
	copy(b.buf[b.pos:], p)
	b.pos += len(p)
	return len(p), nil
}

func (b *seekBuffer) Seek(off int64, whence int) (int64, error) {
	var base int
	switch whence {
	case 0:
		base = 0
	case 1:
		base = b.pos
	case 2:
		base = len(b.buf)
	}
	n := base + int(off)
	if n < 0 {
		return 0, errors.New("seek before start")
	}
	b.pos = n
	return int64(n), nil
}

// EncodeTable serialises rec as an Arrow IPC file whose schema carries
// meta (sorted, so equal inputs give equal bytes). With meta nil the
// result is the table's data identity, hashed for downstream keys: two
// runs that produce the same table have the same data hash even though
// their files carry different keys in their metadata.
func EncodeTable(rec arrow.Record, meta map[string]string) ([]byte, error) {
	schema := rec.Schema()
	var md *arrow.Metadata
	if len(meta) > 0 {
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]string, len(keys))
		for i, k := range keys {
			vals[i] = meta[k]
		}
		m := arrow.NewMetadata(keys, vals)
		md = &m
	}
	schema = arrow.NewSchema(schema.Fields(), md)
	out := &seekBuffer{}
	w, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("encode arrow: %w", err)
	}
	r := array.NewRecord(schema, rec.Columns(), rec.NumRows())
	defer r.Release()
	if err := w.Write(r); err != nil {
		return nil, fmt.Errorf("encode arrow: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode arrow: %w", err)
	}
	return out.buf, nil
}

// DecodeTable parses an Arrow IPC file holding one record batch and
// returns the record and its schema metadata. Malformed input is an error,
// never a panic. The caller must Release the record.
func DecodeTable(data []byte) (rec arrow.Record, meta map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			rec, meta, err = nil, nil, fmt.Errorf("decode arrow: malformed file (%v)", r)
		}
	}()
	if err := checkIPC(data); err != nil {
		return nil, nil, fmt.Errorf("decode arrow: %w", err)
	}
	rd, err := ipc.NewFileReader(bytes.NewReader(data), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, nil, fmt.Errorf("decode arrow: %w", err)
	}
	defer rd.Close()
	if rd.NumRecords() != 1 {
		return nil, nil, fmt.Errorf("decode arrow: file holds %d record batches, want 1", rd.NumRecords())
	}
	r, err := rd.Record(0)
	if err != nil {
		return nil, nil, fmt.Errorf("decode arrow: %w", err)
	}
	if err := validateRecord(r); err != nil {
		return nil, nil, err
	}
	r.Retain()
	meta = map[string]string{}
	md := rd.Schema().Metadata()
	for i, k := range md.Keys() {
		meta[k] = md.Values()[i]
	}
	return r, meta, nil
}

// validateRecord checks that every column has the record's length, so a
// file whose lengths were altered is an error rather than a short table.
func validateRecord(r arrow.Record) error {
	for i, c := range r.Columns() {
		if int64(c.Len()) != r.NumRows() {
			return fmt.Errorf("decode arrow: column %d has %d rows, record has %d", i, c.Len(), r.NumRows())
		}
		if fsl, ok := c.(*array.FixedSizeList); ok {
			n := int(fsl.DataType().(*arrow.FixedSizeListType).Len())
			if fsl.ListValues().Len() < (fsl.Offset()+fsl.Len())*n {
				return fmt.Errorf("decode arrow: column %d is shorter than its list size says", i)
			}
		}
	}
	return nil
}
