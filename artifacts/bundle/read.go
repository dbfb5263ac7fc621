package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/klauspost/compress/zstd"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
)

// Bundles are untrusted input: they come from someone else. Read
// accepts only what Write writes (regular files at valid paths, in
// the order and with the sizes the index declares), decodes and checks
// each zstd frame before the tar reader sees it, and stops at the limits
// below, so that a hostile bundle gets a clear error rather than a full
// disk, an exhausted memory or a file written outside the chosen place.

// Limits bound what reading a bundle may cost.
type Limits struct {
	MaxMembers    int   // members, the index included
	MaxMemberSize int64 // bytes of one member
	MaxTotalSize  int64 // bytes of all members together: what extraction writes
	MaxIndexSize  int64 // bytes of the index
}

// DefaultLimits are generous for real bundles and small enough to
// stop a decompression bomb early.
func DefaultLimits() Limits {
	return Limits{MaxMembers: 200_000, MaxMemberSize: 4 << 30, MaxTotalSize: 16 << 30, MaxIndexSize: 64 << 20}
}

// Frame bounds: bfc writes frames of at most frameSize tar bytes;
// readers accept up to maxFrameOut decoded and maxFrameIn compressed bytes.
const (
	maxFrameOut  = 8 << 20
	maxFrameIn   = 2 * maxFrameOut
	maxBlockSize = 128 << 10 // zstd's Block_Maximum_Size
	// tarOverhead bounds the tar bytes around one member's data: its
	// header (with a PAX record for a long path) and padding.
	tarOverhead = 4096
)

// Error is a bundle that cannot be read (safely) at all. Member
// names the member concerned: the one whose tar header, data or zstd frame
// is damaged or not acceptable, or "" for the bundle as a whole.
type Error struct {
	Member string
	Err    error
}

func (e *Error) Error() string {
	if e.Member == "" {
		return "bundle: " + e.Err.Error()
	}
	return "bundle member " + e.Member + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// StreamError reports a damaged compressed stream: a zstd frame that does
// not decode or whose checksum does not match. At is the decoded offset at
// which the damaged frame starts.
type StreamError struct {
	At  int64
	Err error
}

func (e *StreamError) Error() string {
	return "compressed stream damaged (zstd frame at decoded offset " + fmt.Sprint(e.At) + "): " + e.Err.Error()
}

func (e *StreamError) Unwrap() error { return e.Err }

// errBomb reports a stream that decodes to more than it may.
var errBomb = errors.New("decompression bomb")

// Sink receives the members of a bundle while Read checks it.
type Sink interface {
	// Begin is called once with the parsed, validated index.
	Begin(idx *Index) error
	// Put stores one member; it must read r to its end (m.Size bytes).
	// The index itself is put first, as a member without a listed hash.
	Put(m Member, r io.Reader) error
	// Drop removes a stored member whose content turned out not to
	// match the index.
	Drop(path string) error
}

// Read reads a bundle from r, checks its structure and every
// member's hash against the index, and hands the members to sink. A bundle
// that is unsafe or unreadable (a path that could leave the destination, a
// link or device, a member not in the index or out of order, a size over
// a limit, a damaged compressed stream) is a *Error naming the
// member; members whose content does not match the index are returned as
// problems (and dropped from the sink), so all of them are reported.
func Read(r io.Reader, lim Limits, sink Sink) (*Index, []store.Problem, error) {
	fr, err := newFrameReader(r, lim.MaxIndexSize+tarOverhead, int(lim.MaxIndexSize/frameSize)+2)
	if err != nil {
		return nil, nil, &Error{Err: err}
	}
	defer fr.dec.Close()
	rs := &readState{fr: fr, tr: tar.NewReader(fr)}

	// The index comes first.
	hdr, err := rs.next()
	if err != nil {
		if err == io.EOF {
			err = errors.New("empty archive")
		}
		return nil, nil, rs.fail(err)
	}
	if hdr.Name != IndexName {
		return nil, nil, &Error{Member: hdr.Name, Err: fmt.Errorf("the first member must be the index %s", IndexName)}
	}
	if hdr.Size > lim.MaxIndexSize {
		return nil, nil, &Error{Member: IndexName, Err: fmt.Errorf("%d bytes, over the limit of %d", hdr.Size, lim.MaxIndexSize)}
	}
	ib, err := io.ReadAll(rs.tr)
	if err != nil {
		return nil, nil, rs.fail(err)
	}
	idx, err := ParseIndex(ib, lim)
	if err != nil {
		return nil, nil, &Error{Member: IndexName, Err: err}
	}
	var declared int64
	for _, m := range idx.Members {
		declared += m.Size
	}
	fr.limit = fr.pos + declared + int64(len(idx.Members)+1)*tarOverhead
	fr.maxFrames = len(fr.hashes) + 2*len(idx.Members) + int(declared/frameSize) + 2
	rs.idx = idx
	if err := sink.Begin(idx); err != nil {
		return nil, nil, err
	}
	if err := sink.Put(Member{Path: IndexName, Size: int64(len(ib)), SHA256: id.HexSum(ib)}, bytes.NewReader(ib)); err != nil {
		return nil, nil, fmt.Errorf("extract %s: %w", IndexName, err)
	}

	var problems []store.Problem
	for i, m := range idx.Members {
		rs.cur = i
		hdr, err := rs.next()
		if err == io.EOF {
			return nil, nil, &Error{Member: m.Path, Err: errors.New("missing: the archive ends before it (truncated?)")}
		}
		if err != nil {
			return nil, nil, rs.fail(err)
		}
		if hdr.Name != m.Path {
			return nil, nil, &Error{Member: hdr.Name, Err: rs.misplaced(hdr.Name, i)}
		}
		if hdr.Size != m.Size {
			return nil, nil, &Error{Member: m.Path, Err: fmt.Errorf("its tar header says %d bytes, the index %d", hdr.Size, m.Size)}
		}
		h := sha256.New()
		body := &readErrTracker{r: io.TeeReader(rs.tr, h)}
		if err := sink.Put(m, body); err != nil {
			if body.err != nil {
				return nil, nil, rs.fail(body.err)
			}
			return nil, nil, fmt.Errorf("extract %s: %w", m.Path, err)
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, nil, rs.fail(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
			problems = append(problems, store.Problem{Path: m.Path, What: fmt.Sprintf("content hashes to %s, the index says %s", got[:id.ShortLen], m.SHA256[:id.ShortLen])})
			if err := sink.Drop(m.Path); err != nil {
				return nil, nil, fmt.Errorf("remove damaged %s: %w", m.Path, err)
			}
		}
	}
	rs.cur = len(idx.Members)
	hdr, err = rs.next()
	switch {
	case err == nil:
		return nil, nil, &Error{Member: hdr.Name, Err: rs.misplaced(hdr.Name, len(idx.Members))}
	case err != io.EOF:
		return nil, nil, rs.fail(err)
	}
	n, err := io.Copy(io.Discard, fr)
	if err != nil {
		return nil, nil, rs.fail(err)
	}
	if n > 0 {
		return nil, nil, &Error{Err: fmt.Errorf("%d bytes of data after the end of the archive", n)}
	}
	return idx, problems, nil
}

// readErrTracker remembers the read error a sink may wrap or hide.
type readErrTracker struct {
	r   io.Reader
	err error
}

func (t *readErrTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// readState follows the tar stream for error attribution.
type readState struct {
	fr  *frameReader
	tr  *tar.Reader
	idx *Index
	cur int // index in idx.Members of the member due
	// names are the members read so far (the index first) and ends the
	// decoded offsets where their tar records (header, data, padding) end.
	names []string
	ends  []int64
}

// next reads and checks the next tar header.
func (rs *readState) next() (*tar.Header, error) {
	hdr, err := rs.tr.Next()
	if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
		return nil, err
	}
	rs.names = append(rs.names, hdr.Name)
	rs.ends = append(rs.ends, rs.fr.pos+(max(hdr.Size, 0)+511)/512*512)
	if err := checkTarHeader(hdr); err != nil {
		return nil, &Error{Member: hdr.Name, Err: err}
	}
	return hdr, nil
}

// fail turns a read error into a Error that names the member whose
// zstd frame or tar record is damaged.
func (rs *readState) fail(err error) error {
	var be *Error
	if errors.As(err, &be) {
		return be
	}
	var se *StreamError
	if errors.As(err, &se) {
		return &Error{Member: rs.blame(se.At), Err: se}
	}
	if n := len(rs.names); n > 0 && rs.fr.pos < rs.ends[n-1] {
		return &Error{Member: rs.names[n-1], Err: fmt.Errorf("tar: %w", err)}
	}
	return &Error{Member: rs.following(), Err: fmt.Errorf("tar header damaged: %w", err)}
}

// blame names the member whose tar record holds decoded offset at.
func (rs *readState) blame(at int64) string {
	i, _ := slices.BinarySearchFunc(rs.ends, at, func(end, at int64) int {
		if end <= at {
			return -1
		}
		return 1
	})
	if i < len(rs.names) {
		return rs.names[i]
	}
	return rs.following()
}

// following names what comes after the last member read.
func (rs *readState) following() string {
	switch {
	case rs.idx == nil:
		return IndexName
	case rs.cur < len(rs.idx.Members) && rs.names[len(rs.names)-1] != rs.idx.Members[rs.cur].Path:
		return rs.idx.Members[rs.cur].Path
	case rs.cur+1 < len(rs.idx.Members):
		return rs.idx.Members[rs.cur+1].Path
	}
	return "(end of archive)"
}

// misplaced explains a member found where member i of the index was due.
func (rs *readState) misplaced(name string, i int) error {
	for j, m := range rs.idx.Members {
		if m.Path == name {
			if j < i {
				return errors.New("appears twice")
			}
			if i < len(rs.idx.Members) {
				return fmt.Errorf("out of order: %s is due here", rs.idx.Members[i].Path)
			}
		}
	}
	if name == IndexName {
		return errors.New("appears twice")
	}
	return errors.New("not listed in the index")
}

// checkTarHeader accepts regular files at valid paths only.
func checkTarHeader(h *tar.Header) error {
	switch h.Typeflag {
	case tar.TypeReg:
	case tar.TypeSymlink:
		return fmt.Errorf("is a symbolic link (to %q); bundles hold regular files only", h.Linkname)
	case tar.TypeLink:
		return fmt.Errorf("is a hard link (to %q); bundles hold regular files only", h.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return errors.New("is a device file; bundles hold regular files only")
	case tar.TypeFifo:
		return errors.New("is a named pipe; bundles hold regular files only")
	case tar.TypeDir:
		return errors.New("is a directory entry; bundles hold regular files only")
	default:
		return fmt.Errorf("has tar type %q; bundles hold regular files only", h.Typeflag)
	}
	if h.Name != IndexName {
		if err := ValidPath(h.Name); err != nil {
			return fmt.Errorf("unacceptable path: %w", err)
		}
	}
	if h.Size < 0 {
		return errors.New("negative size")
	}
	return nil
}

// ParseIndex decodes and checks a bundle index: known format, valid
// and distinct member paths in canonical order, sizes within lim, well
// formed hashes, points whose inputs are earlier points.
func ParseIndex(b []byte, lim Limits) (*Index, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var idx Index
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("parse index: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse index: trailing data")
	}
	if idx.Format != Format {
		return nil, fmt.Errorf("format %q; this bfc reads %q", idx.Format, Format)
	}
	if idx.Outputs != OutputsAll && idx.Outputs != OutputsFinal {
		return nil, fmt.Errorf("outputs %q is neither %q nor %q", idx.Outputs, OutputsAll, OutputsFinal)
	}
	if len(idx.Members)+1 > lim.MaxMembers {
		return nil, fmt.Errorf("%d members, over the limit of %d", len(idx.Members)+1, lim.MaxMembers)
	}
	total := int64(len(b))
	for i, m := range idx.Members {
		if err := ValidPath(m.Path); err != nil {
			return nil, fmt.Errorf("member %q: %w", m.Path, err)
		}
		if i > 0 && compareMembers(idx.Members[i-1].Path, m.Path) >= 0 {
			return nil, fmt.Errorf("member %s: listed twice or out of the canonical order", m.Path)
		}
		if !id.ValidHex(m.SHA256) {
			return nil, fmt.Errorf("member %s: %q is not a SHA-256", m.Path, m.SHA256)
		}
		if m.Size < 0 || m.Size > lim.MaxMemberSize {
			return nil, fmt.Errorf("member %s: size %d outside [0, %d] (the member size limit)", m.Path, m.Size, lim.MaxMemberSize)
		}
		total += m.Size
		if total > lim.MaxTotalSize {
			return nil, fmt.Errorf("members total more than %d bytes, the limit (raise it if you trust this bundle)", lim.MaxTotalSize)
		}
		if o := m.Origin; o != nil {
			top, _, _ := strings.Cut(m.Path, "/")
			if (top != "figures" && top != "paper") || o.Key.IsZero() || o.Point == "" || !strings.HasPrefix(o.Output, "publish.") {
				return nil, fmt.Errorf("member %s: malformed origin", m.Path)
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range idx.Points {
		if p.Point == "" || seen[p.Point] || p.Kind == "" || p.Key.IsZero() {
			return nil, fmt.Errorf("point %q: empty, repeated, or without kind and key", p.Point)
		}
		for _, in := range p.Inputs {
			if !seen[in] {
				return nil, fmt.Errorf("point %s: input %q is not an earlier point", p.Point, in)
			}
		}
		seen[p.Point] = true
	}
	if !id.ValidHex(idx.Root) {
		return nil, fmt.Errorf("merkle root %q is not a SHA-256", idx.Root)
	}
	return &idx, nil
}

// frameReader decodes a stream of zstd frames one whole frame at a time,
// so that no byte of a frame is delivered before its checksum is checked,
// and checks the frame index at the end of the stream.
type frameReader struct {
	br     *bufio.Reader
	dec    *zstd.Decoder
	in     []byte
	out    []byte
	off    int   // next undelivered byte of out
	pos    int64 // decoded bytes delivered
	limit  int64 // most decoded bytes the stream may hold
	err    error
	hashes [][32]byte // of each data frame's compressed bytes
	starts []int64    // decoded offset at which each data frame starts
	// maxFrames bounds the data frames: bfc writes one per member plus
	// one per frameSize bytes, and an empty frame never.
	maxFrames int
}

func newFrameReader(r io.Reader, limit int64, maxFrames int) (*frameReader, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxFrameOut), zstd.WithDecoderMaxWindow(maxFrameOut))
	if err != nil {
		return nil, err
	}
	return &frameReader{br: bufio.NewReaderSize(r, 64<<10), dec: dec, limit: limit, maxFrames: maxFrames}, nil
}

func (f *frameReader) Read(p []byte) (int, error) {
	for f.off == len(f.out) {
		if f.err != nil {
			return 0, f.err
		}
		f.err = f.nextFrame()
	}
	n := copy(p, f.out[f.off:])
	f.off += n
	f.pos += int64(n)
	return n, nil
}

// nextFrame decodes the next data frame into f.out, or checks the frame
// index and returns io.EOF.
func (f *frameReader) nextFrame() error {
	fail := func(at int64, err error) error { return &StreamError{At: at, Err: err} }
	frame, skippable, err := readFrame(f.br, f.in[:0])
	switch {
	case err == io.EOF && len(f.hashes) == 0:
		return fail(f.pos, errors.New("empty file"))
	case err == io.EOF:
		return fail(f.pos, errors.New("the file ends without its frame index (truncated?)"))
	case err != nil:
		return fail(f.pos, err)
	case skippable:
		return f.checkIndex(frame)
	}
	if len(f.hashes) >= f.maxFrames {
		return fail(f.pos, fmt.Errorf("more zstd frames than the index allows (%d)", f.maxFrames))
	}
	f.in = frame
	f.hashes = append(f.hashes, sha256.Sum256(frame))
	f.starts = append(f.starts, f.pos)
	out, err := f.dec.DecodeAll(frame, f.out[:0])
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		err = fmt.Errorf("a zstd frame that decodes to more than %d bytes, bfc writes at most %d (damaged, or a %w)", maxFrameOut, frameSize, errBomb)
	}
	if err != nil {
		return fail(f.pos, err)
	}
	if len(out) == 0 {
		return fail(f.pos, errors.New("an empty zstd frame (bfc writes none)"))
	}
	if f.pos+int64(len(out)) > f.limit {
		return fail(f.pos, fmt.Errorf("the archive decodes to more than its index declares, over %d bytes (a %w)", f.limit, errBomb))
	}
	f.out, f.off = out, 0
	return nil
}

// checkIndex checks the frame index against the frames read, and that
// nothing follows it.
func (f *frameReader) checkIndex(frame []byte) error {
	at := f.pos
	if binary.LittleEndian.Uint32(frame) != trailerMagic {
		return &StreamError{At: at, Err: errors.New("a skippable frame that is not bfc's frame index")}
	}
	content := frame[8:]
	if len(content) < 32 || sha256.Sum256(content[:len(content)-32]) != [32]byte(content[len(content)-32:]) {
		return &StreamError{At: at, Err: errors.New("the frame index at the end of the file is damaged (its own hash does not match)")}
	}
	content, ok := bytes.CutPrefix(content[:len(content)-32], []byte(trailerHeader))
	if !ok || len(content)%32 != 0 {
		return &StreamError{At: at, Err: errors.New("the frame index is malformed")}
	}
	if n := len(content) / 32; n != len(f.hashes) {
		return &StreamError{At: at, Err: fmt.Errorf("the frame index lists %d frames, the file holds %d", n, len(f.hashes))}
	}
	for i, h := range f.hashes {
		if !bytes.Equal(content[32*i:32*i+32], h[:]) {
			return &StreamError{At: f.starts[i], Err: fmt.Errorf("the compressed bytes of frame %d do not match the frame index at the end of the file", i)}
		}
	}
	if _, err := f.br.Peek(1); err != io.EOF {
		return &StreamError{At: at, Err: errors.New("data after the frame index")}
	}
	return io.EOF
}

// readFrame reads one zstd frame (RFC 8878, section 3.1) into buf. It
// returns io.EOF at a clean end of the stream. bfc's data frames carry a
// content checksum and no dictionary; data frames without checksum and
// frames over maxFrameIn bytes are refused. A skippable frame is returned
// whole, with skippable set.
func readFrame(br *bufio.Reader, buf []byte) (frame []byte, skippable bool, err error) {
	take := func(n int) ([]byte, error) {
		if n < 0 || len(buf)+n > maxFrameIn {
			return nil, fmt.Errorf("frame longer than %d bytes", maxFrameIn)
		}
		start := len(buf)
		buf = slices.Grow(buf, n)[:start+n]
		if _, err := io.ReadFull(br, buf[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return buf[start:], nil
	}
	if _, err := br.Peek(1); err == io.EOF {
		return nil, false, io.EOF
	}
	magic, err := take(4)
	if err != nil {
		return nil, false, fmt.Errorf("frame header: %w", err)
	}
	switch m := binary.LittleEndian.Uint32(magic); {
	case m == 0xFD2FB528:
	case m&0xFFFFFFF0 == 0x184D2A50:
		size, err := take(4)
		if err != nil {
			return nil, false, fmt.Errorf("skippable frame: %w", err)
		}
		if _, err := take(int(binary.LittleEndian.Uint32(size))); err != nil {
			return nil, false, fmt.Errorf("skippable frame: %w", err)
		}
		return buf, true, nil
	default:
		return nil, false, fmt.Errorf("not a zstd frame (magic % x)", magic)
	}
	fhd, err := take(1)
	if err != nil {
		return nil, false, fmt.Errorf("frame header: %w", err)
	}
	d := fhd[0]
	fcsFlag, single, reserved, checksum, dictFlag := d>>6, d&0x20 != 0, d&0x08 != 0, d&0x04 != 0, d&0x03
	switch {
	case reserved:
		return nil, false, errors.New("frame header: reserved bit set")
	case !checksum:
		return nil, false, errors.New("frame without content checksum (bfc writes one in every frame)")
	case dictFlag != 0:
		return nil, false, errors.New("frame needs a dictionary (bfc uses none)")
	}
	n := [4]int{0, 2, 4, 8}[fcsFlag]
	if !single {
		n++ // window descriptor
	} else if fcsFlag == 0 {
		n = 1
	}
	if _, err := take(n); err != nil {
		return nil, false, fmt.Errorf("frame header: %w", err)
	}
	for {
		bh, err := take(3)
		if err != nil {
			return nil, false, fmt.Errorf("block header: %w", err)
		}
		v := uint32(bh[0]) | uint32(bh[1])<<8 | uint32(bh[2])<<16
		last, typ, size := v&1 == 1, (v>>1)&3, int(v>>3)
		if size > maxBlockSize {
			return nil, false, fmt.Errorf("block of %d bytes, over zstd's maximum", size)
		}
		switch typ {
		case 1: // RLE: one byte repeated size times
			size = 1
		case 3:
			return nil, false, errors.New("block of the reserved type")
		}
		if _, err := take(size); err != nil {
			return nil, false, fmt.Errorf("block: %w", err)
		}
		if last {
			break
		}
	}
	if _, err := take(4); err != nil {
		return nil, false, fmt.Errorf("frame checksum: %w", err)
	}
	return buf, false, nil
}

// dirSink extracts members below one directory through an os.Root, so
// that no file is created outside it, whatever the paths or links met.
type dirSink struct {
	root *os.Root
	dir  string
}

func (d *dirSink) Begin(idx *Index) error {
	var need int64
	for _, m := range idx.Members {
		need += m.Size
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err == nil {
		if free := int64(st.Bavail) * int64(st.Bsize); free >= 0 && need > free {
			return fmt.Errorf("extract into %s: the bundle holds %d bytes, only %d are free there", d.dir, need, free)
		}
	}
	return nil
}

func (d *dirSink) Put(m Member, r io.Reader) error {
	if i := strings.LastIndexByte(m.Path, '/'); i > 0 {
		if err := d.root.MkdirAll(m.Path[:i], 0o755); err != nil {
			return err
		}
	}
	f, err := d.root.OpenFile(m.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (d *dirSink) Drop(path string) error { return d.root.Remove(path) }

// Extract reads the bundle file at path into dir, which must not
// exist or be empty, and opens the result. It returns the members whose
// content did not match the index (they are not extracted) as problems.
// Nothing is ever written outside dir.
func Extract(path, dir string, lim Limits) (*Bundle, []store.Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, nil, fmt.Errorf("extract into %s: %w", abs, err)
	}
	ents, err := os.ReadDir(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("extract into %s: %w", abs, err)
	}
	if len(ents) > 0 {
		return nil, nil, fmt.Errorf("extract into %s: the directory is not empty", abs)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, nil, err
	}
	idx, problems, err := Read(f, lim, &dirSink{root: root, dir: abs})
	if err != nil {
		root.Close()
		return nil, nil, err
	}
	b := newBundle(idx, root.FS(), problems)
	b.Dir, b.closer = abs, root
	return b, problems, nil
}
