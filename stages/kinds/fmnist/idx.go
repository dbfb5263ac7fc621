package fmnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
)

// IDX type codes (the third byte of the magic number).
const (
	idxUbyte = 0x08
)

// maxIDXBytes bounds the decompressed size of one IDX file (the largest
// Fashion-MNIST file, the training images, is 47 MB), so that a corrupt or
// hostile gzip stream cannot exhaust memory.
const maxIDXBytes = 1 << 30

// gunzipIfNeeded returns data decompressed if it starts with the gzip
// magic bytes 1f 8b, and data unchanged otherwise.
func gunzipIfNeeded(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxIDXBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if len(out) > maxIDXBytes {
		return nil, fmt.Errorf("gzip: decompresses to more than %d bytes", maxIDXBytes)
	}
	return out, nil
}

// parseIDX checks the header of one unsigned-byte IDX file (optionally
// gzipped) with ndims dimensions and returns its dimensions and payload.
//
// The IDX format: two zero bytes, a type byte (0x08 for unsigned bytes), a
// byte with the number of dimensions, one big-endian uint32 per dimension,
// then the values in row-major order. The payload must be exactly the
// product of the dimensions long: a shorter file is truncated, a longer one
// is not an IDX file of the stated shape. Errors do not name the file; the
// caller adds it.
func parseIDX(raw []byte, ndims int) (dims []int, payload []byte, err error) {
	data, err := gunzipIfNeeded(raw)
	if err != nil {
		return nil, nil, err
	}
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("truncated: %d bytes, an IDX header needs at least 4", len(data))
	}
	magic := binary.BigEndian.Uint32(data[:4])
	want := uint32(idxUbyte)<<8 | uint32(ndims)
	if magic != want {
		return nil, nil, fmt.Errorf("wrong magic number 0x%08x, want 0x%08x (unsigned bytes, %d dimensions)", magic, want, ndims)
	}
	head := 4 + 4*ndims
	if len(data) < head {
		return nil, nil, fmt.Errorf("truncated header: %d bytes, want %d", len(data), head)
	}
	size := 1
	dims = make([]int, ndims)
	for i := range dims {
		d := binary.BigEndian.Uint32(data[4+4*i:])
		if d == 0 || d > maxIDXBytes || size*int(d) > maxIDXBytes {
			return nil, nil, fmt.Errorf("dimension %d is %d: the file would hold an empty or implausibly large array", i, d)
		}
		dims[i] = int(d)
		size *= int(d)
	}
	payload = data[head:]
	switch {
	case len(payload) < size:
		return nil, nil, fmt.Errorf("truncated: the header %v promises %d values, the file holds %d", dims, size, len(payload))
	case len(payload) > size:
		return nil, nil, fmt.Errorf("%d bytes after the %d values that the header %v promises", len(payload)-size, size, dims)
	}
	return dims, payload, nil
}

// images is a set of n grey-scale images of rows x cols bytes, row-major.
type images struct {
	N, Rows, Cols int
	Pix           []byte // n*rows*cols values in 0..255
}

// parseImages reads an IDX3 image file; name is used in errors.
func parseImages(name string, raw []byte) (*images, error) {
	dims, pix, err := parseIDX(raw, 3)
	if err != nil {
		return nil, fmt.Errorf("image file %s: %w", name, err)
	}
	return &images{N: dims[0], Rows: dims[1], Cols: dims[2], Pix: pix}, nil
}

// parseLabels reads an IDX1 label file and checks every label against
// the number of classes; name is used in errors.
func parseLabels(name string, raw []byte, classes int) ([]byte, error) {
	_, labels, err := parseIDX(raw, 1)
	if err != nil {
		return nil, fmt.Errorf("label file %s: %w", name, err)
	}
	for i, l := range labels {
		if int(l) >= classes {
			return nil, fmt.Errorf("label file %s: label %d of item %d is outside 0..%d", name, l, i, classes-1)
		}
	}
	return labels, nil
}
