// Package bundle reads and writes review bundles.
//
// A bundle is one file that lets a reviewer check, offline, that every
// figure and number of a run follows from the declared pipeline. It is a
// tar archive compressed with zstd (so `tar --zstd -xf` opens it too),
// written by Write and read by Read.
//
// # Members
//
// Members are regular files only, in this order (the canonical order; a
// reader rejects any other):
//
//	bfc-bundle.json          the index (Index): format, pipeline,
//	                         profile, the points of the graph with their
//	                         keys and inputs, and every other member's
//	                         path, size and SHA-256, and the Merkle root
//	pipeline.toml            the pipeline file
//	build.json               the program's build (BuildInfo)
//	machine.json             the machine that archived (MachineInfo)
//	manifests/KEY.json       every manifest of the graph's points, as stored
//	objects/HASH.arrow       output objects (all, or the final ones)
//	figures/...              the published figures
//	paper/...                the report
//
// Member paths are relative, slash-separated, without "." or ".."
// components, hidden names or unusual characters (ValidPath).
//
// # Merkle root
//
// The Merkle root binds the members listed in the index (every member
// except the index itself) into one SHA-256 that `bfc archive` prints and
// the index records. It is the Merkle tree hash of RFC 6962 (section 2.1)
// over the members sorted by path (byte order):
//
//	leaf(m)    = SHA-256(0x00 || m.path || 0x00 || m.sha256)   (sha256 as 32 raw bytes)
//	MTH({})    = SHA-256("")
//	MTH({m})   = leaf(m)
//	MTH(D[n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))    for n > 1,
//	             with k the largest power of two smaller than n.
//
// Paths never contain NUL, so a leaf's input is unambiguous, and the 0x00
// and 0x01 prefixes keep leaves and interior nodes apart.
//
// # Compression and damage
//
// The tar stream is cut into zstd frames, each with its content checksum:
// one frame per member (its tar header, data and padding), and members
// larger than frameSize span several frames. A reader decodes and
// checks a whole frame before the tar reader sees any of its bytes, so a
// damaged byte anywhere in the file is reported as damage to the member
// whose frame holds it, and the tar reader only ever parses intact data.
// A final frame index (see trailerMagic) holds the SHA-256 of every
// frame's compressed bytes, so that even a change that zstd cannot see (a
// bit that does not affect decoding) is caught and located.
package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// Format is the format identifier written into every bundle index.
const Format = "bfc-bundle/1"

// IndexName is the path of the index, the first member of a bundle.
const IndexName = "bfc-bundle.json"

// frameSize is the most tar bytes one zstd frame holds.
const frameSize = 1 << 20

// Output selections of a bundle.
const (
	OutputsAll   = "all"   // every output object of every point
	OutputsFinal = "final" // see Index.Outputs
)

// Index is the first member of a bundle: what it holds and why.
type Index struct {
	Format     string `json:"format"`
	Created    string `json:"created"` // RFC 3339, UTC
	Pipeline   string `json:"pipeline"`
	Profile    string `json:"profile"`
	MasterSeed int64  `json:"master_seed"`
	// Outputs is OutputsAll, or OutputsFinal: the outputs of final points
	// (nothing in the graph depends on them), every published file, and
	// every output of a point that publishes a figure (its data table);
	// other outputs are present by their hashes in the manifests only.
	Outputs string `json:"outputs"`
	Program string `json:"program"` // the archiving program, "path@version"
	// FiguresDir and PaperDir are the project directories (relative to
	// pipeline.toml) that figures/ and paper/ members were read from.
	FiguresDir string  `json:"figures_dir"`
	PaperDir   string  `json:"paper_dir"`
	Points     []Point `json:"points"`
	// Missing lists the points of the graph that were not computed (or
	// stale) when the bundle was written with --allow-missing.
	Missing []string `json:"missing,omitempty"`
	Members []Member `json:"members"`     // every member but the index, in bundle order
	Root    string   `json:"merkle_root"` // MerkleRoot(Members)
}

// Point is one point of the archived graph.
type Point struct {
	Point  string            `json:"point"` // point id, e.g. "train[schedule=joint,seed=1]"
	Stage  string            `json:"stage"`
	Kind   string            `json:"kind"`
	Key    id.Key            `json:"key"` // its manifest is manifests/KEY.json
	Labels map[string]string `json:"labels,omitempty"`
	Inputs []string          `json:"inputs,omitempty"` // input point ids, in key order (input:000, ...)
	Final  bool              `json:"final"`            // no point of the graph depends on it
}

// Member is one member of a bundle as the index lists it.
type Member struct {
	Path   string  `json:"path"`
	Size   int64   `json:"size"`
	SHA256 string  `json:"sha256"`
	Origin *Origin `json:"origin,omitempty"`
}

// Origin names the published-file output a figures/ or paper/ member came
// from: output Output (named "publish.DIR.NAME", a table of dir, name and
// bytes) of the manifest of Key, computed for point Point.
type Origin struct {
	Point  string `json:"point"`
	Key    id.Key `json:"key"`
	Output string `json:"output"`
}

// ManifestMember is the bundle path of the manifest of key.
func ManifestMember(key id.Key) string { return "manifests/" + key.String() + ".json" }

// ObjectMember is the bundle path of the object with content hash h.
func ObjectMember(o id.Object) string { return "objects/" + o.String() + ".arrow" }

// memberRank orders members: fixed files first, then directories.
func memberRank(p string) int {
	switch p {
	case IndexName:
		return 0
	case "pipeline.toml":
		return 1
	case "build.json":
		return 2
	case "machine.json":
		return 3
	}
	top, _, _ := strings.Cut(p, "/")
	switch top {
	case "manifests":
		return 4
	case "objects":
		return 5
	case "figures":
		return 6
	case "paper":
		return 7
	}
	return 8
}

// compareMembers is the canonical member order.
func compareMembers(a, b string) int {
	if ra, rb := memberRank(a), memberRank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

// maxBundlePath bounds the length of a member path.
const maxBundlePath = 1024

// ValidPath reports why p may not name a bundle member, or nil. A
// valid path is relative and slash-separated; it lies under one of the
// known top-level names; each component is 1-255 bytes of ASCII letters,
// digits and " _-.,+=@%~()", does not start with '.' or ' ', and is not
// "." or "..". Such a path cannot leave the directory it is extracted to
// and means the same on every file system bfc runs on.
func ValidPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case len(p) > maxBundlePath:
		return fmt.Errorf("path longer than %d bytes", maxBundlePath)
	case strings.HasPrefix(p, "/"):
		return errors.New("absolute path")
	}
	parts := strings.Split(p, "/")
	for _, c := range parts {
		switch {
		case c == "":
			return errors.New("empty path component (// or a trailing /)")
		case c == "..":
			return errors.New(`".." component`)
		case c == ".":
			return errors.New(`"." component`)
		case len(c) > 255:
			return errors.New("component longer than 255 bytes")
		case c[0] == '.' || c[0] == ' ':
			return fmt.Errorf("component %q starts with '.' or ' '", c)
		}
		for i := 0; i < len(c); i++ {
			ch := c[i]
			if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte(" _-.,+=@%~()", ch) >= 0) {
				return fmt.Errorf("component %q has the character %q", c, ch)
			}
		}
	}
	if memberRank(p) == 8 || (memberRank(p) <= 3 && len(parts) != 1) || (memberRank(p) >= 4 && len(parts) < 2) {
		return fmt.Errorf("%q is not a place for a bundle member (pipeline.toml, build.json, machine.json, manifests/, objects/, figures/, paper/)", p)
	}
	return nil
}

// MerkleRoot returns the Merkle root over members (see the package
// documentation for the definition). Paths must be valid and distinct
// and hashes well formed.
func MerkleRoot(members []Member) (string, error) {
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b Member) int { return strings.Compare(a.Path, b.Path) })
	leaves := make([][32]byte, len(sorted))
	for i, m := range sorted {
		if i > 0 && sorted[i-1].Path == m.Path {
			return "", fmt.Errorf("merkle root: member %s listed twice", m.Path)
		}
		if strings.IndexByte(m.Path, 0) >= 0 {
			return "", fmt.Errorf("merkle root: member path %q has a NUL byte", m.Path)
		}
		raw, err := hex.DecodeString(m.SHA256)
		if err != nil || !id.ValidHex(m.SHA256) {
			return "", fmt.Errorf("merkle root: member %s: %q is not a SHA-256", m.Path, m.SHA256)
		}
		h := sha256.New()
		h.Write([]byte{0})
		h.Write([]byte(m.Path))
		h.Write([]byte{0})
		h.Write(raw)
		copy(leaves[i][:], h.Sum(nil))
	}
	root := merkleTree(leaves)
	return hex.EncodeToString(root[:]), nil
}

// merkleTree is RFC 6962's MTH over leaf hashes.
func merkleTree(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := merkleTree(leaves[:k]), merkleTree(leaves[k:])
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:33], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}

// File is a member to write: its bundle path and either its bytes
// or the file that holds them.
type File struct {
	Path   string
	Origin *Origin
	Data   []byte // the content, or nil to read File
	File   string // a file to copy when Data is nil
}

func (f *File) open() (io.ReadCloser, error) {
	if f.Data != nil {
		return io.NopCloser(bytes.NewReader(f.Data)), nil
	}
	return os.Open(f.File)
}

// Write writes a bundle of idx and files to w. It fills in
// idx.Format, idx.Created (if empty), idx.Members (in canonical order) and
// idx.Root, which it also returns. Every source is read twice, once to
// hash it for the index and once to copy it; a file whose bytes change in
// between is an error.
func Write(w io.Writer, idx *Index, files []File) (string, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return compareMembers(a.Path, b.Path) })
	idx.Format = Format
	if idx.Created == "" {
		idx.Created = time.Now().UTC().Format(time.RFC3339)
	}
	mtime, err := time.Parse(time.RFC3339, idx.Created)
	if err != nil {
		return "", fmt.Errorf("bundle: created time %q: %w", idx.Created, err)
	}
	idx.Members = nil // never the caller's backing array
	for i := range files {
		f := &files[i]
		if err := ValidPath(f.Path); err != nil {
			return "", fmt.Errorf("bundle member %s: %w", f.Path, err)
		}
		if f.Path == IndexName {
			return "", fmt.Errorf("bundle member %s: reserved for the index", f.Path)
		}
		if i > 0 && files[i-1].Path == f.Path {
			return "", fmt.Errorf("bundle member %s: given twice", f.Path)
		}
		h, n, err := hashSource(f)
		if err != nil {
			return "", fmt.Errorf("bundle member %s: %w", f.Path, err)
		}
		idx.Members = append(idx.Members, Member{Path: f.Path, Size: n, SHA256: h, Origin: f.Origin})
	}
	if idx.Root, err = MerkleRoot(idx.Members); err != nil {
		return "", err
	}
	ib, err := json.MarshalIndent(idx, "", " ")
	if err != nil {
		return "", fmt.Errorf("bundle index: %w", err)
	}
	ib = append(ib, '\n')

	fw, err := newFrameWriter(w)
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(fw)
	put := func(path string, size int64, r io.Reader, want string) error {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: path, Size: size, Mode: 0o644, ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(tw, io.TeeReader(r, h))
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); n != size || got != want {
			return errors.New("changed while it was being archived")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		return fw.cut()
	}
	if err := put(IndexName, int64(len(ib)), bytes.NewReader(ib), id.HexSum(ib)); err != nil {
		return "", fmt.Errorf("bundle member %s: %w", IndexName, err)
	}
	for i := range files {
		m := idx.Members[i]
		rc, err := files[i].open()
		if err != nil {
			return "", fmt.Errorf("bundle member %s: %w", m.Path, err)
		}
		err = put(m.Path, m.Size, rc, m.SHA256)
		rc.Close()
		if err != nil {
			return "", fmt.Errorf("bundle member %s: %w", m.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("bundle: %w", err)
	}
	if err := fw.close(); err != nil {
		return "", fmt.Errorf("bundle: %w", err)
	}
	return idx.Root, nil
}

func hashSource(f *File) (string, int64, error) {
	rc, err := f.open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Every bundle ends with a frame index: a zstd skippable frame (which
// zstd decoders, and so `tar --zstd`, skip) whose content is
// trailerHeader, the raw SHA-256 of each data frame's compressed
// bytes in order, and the raw SHA-256 of all that (so that damage to the
// index itself is told apart from damage to a frame). Some bits of a compressed block do not
// change what it decodes to; the frame index makes a change to any byte
// of the file detectable, and says which frame (so which member) holds it.
const (
	trailerMagic  = 0x184D2A5B
	trailerHeader = "bfc-frames/1\n"
)

// frameWriter compresses what is written to it into zstd frames of at
// most frameSize input bytes each; cut ends the current frame and
// close writes the frame index.
type frameWriter struct {
	enc    *zstd.Encoder
	dst    io.Writer
	out    io.Writer // dst, also hashed into h
	h      hash.Hash // the compressed bytes of the current frame
	n      int       // input bytes in the current frame
	hashes [][]byte
}

func newFrameWriter(dst io.Writer) (*frameWriter, error) {
	f := &frameWriter{dst: dst, h: sha256.New()}
	f.out = io.MultiWriter(dst, f.h)
	enc, err := zstd.NewWriter(f.out, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true), zstd.WithWindowSize(frameSize))
	if err != nil {
		return nil, fmt.Errorf("bundle: zstd: %w", err)
	}
	f.enc = enc
	return f, nil
}

func (f *frameWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		k := min(len(p), frameSize-f.n)
		n, err := f.enc.Write(p[:k])
		total += n
		f.n += n
		if err != nil {
			return total, err
		}
		p = p[k:]
		if f.n == frameSize {
			if err := f.cut(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// cut ends the current frame, if it holds anything.
func (f *frameWriter) cut() error {
	if f.n == 0 {
		return nil
	}
	if err := f.enc.Close(); err != nil {
		return err
	}
	f.hashes = append(f.hashes, f.h.Sum(nil))
	f.h.Reset()
	f.enc.Reset(f.out)
	f.n = 0
	return nil
}

// close ends the last frame and writes the frame index.
func (f *frameWriter) close() error {
	if err := f.cut(); err != nil {
		return err
	}
	f.enc.Reset(nil)
	content := append([]byte(trailerHeader), bytes.Join(f.hashes, nil)...)
	self := sha256.Sum256(content)
	content = append(content, self[:]...)
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:4], trailerMagic)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(content)))
	_, err := f.dst.Write(append(hdr[:], content...))
	return err
}
