package store

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// checkIPC bounds-checks the structure of an Arrow IPC file before the
// Arrow library reads it. The library trusts the counts and lengths in the
// file's flatbuffers and allocates from them, so a damaged or hostile file
// can make it allocate terabytes and crash the process (found by
// FuzzDecodeTable). This walk checks every vector, string and block it
// would follow against the size of the file: the footer, the schema with
// its (nested) fields and metadata, and every record batch message with its
// nodes and buffers. It does not decide that a file is valid, only that
// reading it cannot allocate more than the file describes.
func checkIPC(b []byte) error {
	const magic = "ARROW1"
	if len(b) < 6+2+4+6 || string(b[:6]) != magic || string(b[len(b)-6:]) != magic {
		return errors.New("not an Arrow IPC file (magic bytes missing)")
	}
	fl := int(int32(binary.LittleEndian.Uint32(b[len(b)-10:])))
	footerStart := len(b) - 10 - fl
	if fl <= 0 || footerStart < 8 {
		return fmt.Errorf("footer length %d does not fit the file", fl)
	}
	fb := fbuf{b: b[footerStart : len(b)-10]}
	footer, err := fb.root()
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	schema, ok, err := fb.table(footer, 1)
	if err != nil || !ok {
		return fmt.Errorf("footer schema missing or damaged (%v)", err)
	}
	need, err := fb.checkSchema(schema)
	if err != nil {
		return err
	}
	for _, slot := range []int{2, 3} { // dictionaries, record batches: [Block]
		start, n, ok, err := fb.vector(footer, slot, 24)
		if err != nil {
			return fmt.Errorf("footer blocks: %w", err)
		}
		if !ok {
			continue
		}
		for i := 0; i < n; i++ {
			p := start + 24*i
			off := int64(binary.LittleEndian.Uint64(fb.b[p:]))
			meta := int64(int32(binary.LittleEndian.Uint32(fb.b[p+8:])))
			body := int64(binary.LittleEndian.Uint64(fb.b[p+16:]))
			if off < 8 || meta < 8 || body < 0 || off > int64(footerStart) || meta > int64(footerStart)-off || body > int64(footerStart)-off-meta {
				return fmt.Errorf("block %d (offset %d, metadata %d, body %d) lies outside the file", i, off, meta, body)
			}
			if err := checkMessage(b[off:off+meta], body, need); err != nil {
				return fmt.Errorf("block %d: %w", i, err)
			}
		}
	}
	return nil
}

// counts are the field nodes and buffers a record batch of a schema has.
type counts struct{ nodes, buffers int }

// checkMessage checks an IPC message header (continuation marker, length,
// Message flatbuffer) whose body has bodyLen bytes and whose record batch
// must hold at least need nodes and buffers.
func checkMessage(m []byte, bodyLen int64, need counts) error {
	if len(m) >= 4 && binary.LittleEndian.Uint32(m) == 0xFFFFFFFF {
		m = m[4:]
	}
	if len(m) < 4 {
		return errors.New("message too short")
	}
	n := int(int32(binary.LittleEndian.Uint32(m)))
	if n < 0 || n > len(m)-4 {
		return fmt.Errorf("message length %d exceeds its block", n)
	}
	fb := fbuf{b: m[4 : 4+n]}
	msg, err := fb.root()
	if err != nil {
		return err
	}
	if p, ok, err := fb.field(msg, 3, 8); err != nil {
		return err
	} else if ok {
		if bl := int64(binary.LittleEndian.Uint64(fb.b[p:])); bl < 0 || bl > bodyLen {
			return fmt.Errorf("message body length %d exceeds its block (%d)", bl, bodyLen)
		}
	}
	hdr, ok, err := fb.table(msg, 2)
	if err != nil || !ok {
		return err
	}
	// RecordBatch: length, [FieldNode], [Buffer], compression. bfc never
	// compresses buffers, and a compressed buffer's first 8 bytes give the
	// size the library allocates, so compression is refused outright.
	if _, present, err := fb.field(hdr, 3, 4); err != nil || present {
		return errors.New("record batch uses buffer compression, which bfc does not write")
	}
	for _, slot := range []int{1, 2} {
		start, cnt, ok, err := fb.vector(hdr, slot, 16)
		if err != nil {
			return err
		}
		want := need.nodes
		if slot == 2 {
			want = need.buffers
		}
		if cnt < want {
			return fmt.Errorf("record batch has %d entries in vector %d, its schema needs %d", cnt, slot, want)
		}
		if !ok || slot != 2 {
			continue
		}
		for i := 0; i < cnt; i++ {
			off := int64(binary.LittleEndian.Uint64(fb.b[start+16*i:]))
			ln := int64(binary.LittleEndian.Uint64(fb.b[start+16*i+8:]))
			if off < 0 || ln < 0 || off > bodyLen || ln > bodyLen-off {
				return fmt.Errorf("buffer %d (offset %d, length %d) lies outside the body (%d)", i, off, ln, bodyLen)
			}
		}
	}
	return nil
}

func (fb fbuf) checkSchema(schema int) (counts, error) {
	var c counts
	if err := fb.checkFields(schema, 1, 0, &c); err != nil {
		return c, err
	}
	if err := fb.checkKeyValues(schema, 2); err != nil {
		return c, err
	}
	_, _, _, err := fb.vector(schema, 3, 8)
	return c, err
}

// buffersOf is the number of IPC buffers of each column type bfc writes,
// by the type's tag in the flatbuffer union (Schema.fbs): Int, FloatingPoint,
// Binary, Utf8, Bool, FixedSizeList (whose child adds its own).
var buffersOf = map[byte]int{2: 2, 3: 2, 4: 3, 5: 3, 6: 2, 16: 1}

func (fb fbuf) checkFields(tab, slot, depth int, c *counts) error {
	if depth > 64 {
		return errors.New("schema nested more than 64 levels")
	}
	start, n, ok, err := fb.vector(tab, slot, 4)
	if err != nil || !ok {
		return err
	}
	for i := 0; i < n; i++ {
		f, err := fb.deref(start + 4*i)
		if err != nil {
			return err
		}
		if err := fb.checkTableHeader(f); err != nil {
			return err
		}
		if _, _, _, err := fb.vector(f, 0, 1); err != nil { // name
			return err
		}
		tp, ok, err := fb.field(f, 2, 1) // type_type
		if err != nil || !ok {
			return fmt.Errorf("field %d has no type (%v)", i, err)
		}
		nb, known := buffersOf[fb.b[tp]]
		if !known {
			return fmt.Errorf("field %d has column type %d, which bfc does not write", i, fb.b[tp])
		}
		if _, _, err := fb.table(f, 3); err != nil { // type
			return err
		}
		if _, present, err := fb.field(f, 4, 4); err != nil || present {
			return fmt.Errorf("field %d is dictionary-encoded, which bfc does not write", i)
		}
		c.nodes++
		c.buffers += nb
		if err := fb.checkFields(f, 5, depth+1, c); err != nil { // children
			return err
		}
		if err := fb.checkKeyValues(f, 6); err != nil {
			return err
		}
	}
	return nil
}

func (fb fbuf) checkKeyValues(tab, slot int) error {
	start, n, ok, err := fb.vector(tab, slot, 4)
	if err != nil || !ok {
		return err
	}
	for i := 0; i < n; i++ {
		kv, err := fb.deref(start + 4*i)
		if err != nil {
			return err
		}
		if err := fb.checkTableHeader(kv); err != nil {
			return err
		}
		for s := 0; s < 2; s++ {
			if _, _, _, err := fb.vector(kv, s, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// fbuf is a bounds-checked reader of one flatbuffer.
type fbuf struct{ b []byte }

var errBounds = errors.New("flatbuffer offset out of bounds")

func (fb fbuf) u32(p int) (uint32, error) {
	if p < 0 || p+4 > len(fb.b) {
		return 0, errBounds
	}
	return binary.LittleEndian.Uint32(fb.b[p:]), nil
}

func (fb fbuf) u16(p int) (uint16, error) {
	if p < 0 || p+2 > len(fb.b) {
		return 0, errBounds
	}
	return binary.LittleEndian.Uint16(fb.b[p:]), nil
}

func (fb fbuf) root() (int, error) { return fb.deref(0) }

// deref follows the unsigned offset stored at p.
func (fb fbuf) deref(p int) (int, error) {
	o, err := fb.u32(p)
	if err != nil {
		return 0, err
	}
	t := p + int(o)
	if o > uint32(len(fb.b)) || t >= len(fb.b) {
		return 0, errBounds
	}
	return t, nil
}

func (fb fbuf) checkTableHeader(tab int) error {
	_, err := fb.vtable(tab)
	return err
}

// vtable returns the position and size of a table's vtable.
func (fb fbuf) vtable(tab int) (int, error) {
	so, err := fb.u32(tab)
	if err != nil {
		return 0, err
	}
	vt := tab - int(int32(so))
	size, err := fb.u16(vt)
	if err != nil {
		return 0, err
	}
	if vt < 0 || size < 4 || vt+int(size) > len(fb.b) {
		return 0, errBounds
	}
	return vt, nil
}

// field returns the position of a table's field in slot, if present, after
// checking that width bytes fit.
func (fb fbuf) field(tab, slot, width int) (int, bool, error) {
	vt, err := fb.vtable(tab)
	if err != nil {
		return 0, false, err
	}
	size, _ := fb.u16(vt)
	// Same test as the flatbuffers runtime (a slot exists when its offset
	// is below the vtable size), so an odd size cannot make us see a
	// different table than the library does.
	if 4+2*slot >= int(size) {
		return 0, false, nil
	}
	off, err := fb.u16(vt + 4 + 2*slot)
	if err != nil {
		return 0, false, err
	}
	if off == 0 {
		return 0, false, nil
	}
	p := tab + int(off)
	if p+width > len(fb.b) {
		return 0, false, errBounds
	}
	return p, true, nil
}

func (fb fbuf) table(tab, slot int) (int, bool, error) {
	p, ok, err := fb.field(tab, slot, 4)
	if err != nil || !ok {
		return 0, ok, err
	}
	t, err := fb.deref(p)
	if err != nil {
		return 0, false, err
	}
	return t, true, fb.checkTableHeader(t)
}

// vector returns the start and length of a vector field whose elements
// are elem bytes wide, checking that all of it lies in the buffer.
func (fb fbuf) vector(tab, slot, elem int) (start, n int, ok bool, err error) {
	p, ok, err := fb.field(tab, slot, 4)
	if err != nil || !ok {
		return 0, 0, ok, err
	}
	v, err := fb.deref(p)
	if err != nil {
		return 0, 0, false, err
	}
	l, err := fb.u32(v)
	if err != nil {
		return 0, 0, false, err
	}
	if int64(l)*int64(elem) > int64(len(fb.b)-v-4) {
		return 0, 0, false, fmt.Errorf("vector of %d elements does not fit in %d bytes", l, len(fb.b)-v-4)
	}
	return v + 4, int(l), true, nil
}
