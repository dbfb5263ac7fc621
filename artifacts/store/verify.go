package store

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Objects   int
	Manifests int
	Bytes     int64
	Elapsed   time.Duration
	Problems  []Problem
}

// Verify trusts nothing: it rehashes every object against its name,
// parses every manifest (whose key must recompute from its components)
// and checks that every output a manifest names exists with its recorded
// size. It never changes the store.
func (s *Store) Verify() (*VerifyReport, error) {
	start := time.Now()
	rep := &VerifyReport{}
	var paths []string
	err := filepath.WalkDir(filepath.Join(s.Dir, "objects"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	var mu sync.Mutex
	add := func(p Problem) {
		mu.Lock()
		rep.Problems = append(rep.Problems, p)
		mu.Unlock()
	}
	sizes := map[id.Object]int64{}
	bad := map[id.Object]bool{} // objects already reported
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, verifyBuf)
			for p := range work {
				h, ok := objectName(p)
				if !ok {
					add(Problem{p, "stray file in objects/ (not named by a content hash)"})
					continue
				}
				got, size, err := hashFileBuf(p, buf)
				if err != nil {
					add(Problem{p, "unreadable: " + err.Error()})
					continue
				}
				mu.Lock()
				rep.Objects++
				rep.Bytes += size
				sizes[h] = size
				mu.Unlock()
				if got != h {
					add(Problem{p, fmt.Sprintf("content hash %s does not match its name", got.Short())})
					mu.Lock()
					bad[h] = true
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	keys, err := s.ListManifests()
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	// Every manifest file is read and validated (never the index), on
	// every CPU; the checks against the objects follow in key order.
	ms := make([]*Manifest, len(keys))
	errs := make([]error, len(keys))
	next := make(chan int)
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ms[i], errs[i] = s.readManifest(keys[i])
			}
		}()
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, k := range keys {
		m, err := ms[i], errs[i]
		if err != nil {
			add(Problem{s.ManifestPath(k), err.Error()})
			continue
		}
		rep.Manifests++
		for _, o := range m.Outputs {
			size, ok := sizes[o.File]
			switch {
			case !ok:
				add(Problem{s.ManifestPath(k), fmt.Sprintf("output %q of %s: object %s is missing", o.Name, m.Stage, o.File.Short())})
			case size != o.Size && !bad[o.File]:
				add(Problem{s.ObjectPath(o.File), fmt.Sprintf("size %d, manifest of %s says %d", size, m.Stage, o.Size)})
			}
		}
	}
	sort.Slice(rep.Problems, func(i, j int) bool { return rep.Problems[i].Path < rep.Problems[j].Path })
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// verifyBuf is the read size of Verify: large reads, few system calls.
const verifyBuf = 1 << 20

// hashFileBuf hashes the file at p reading through buf, and returns its
// size (the bytes hashed).
//
// It reads with plain system calls: os.File's extra calls per file (the
// poller's registration, a stat) cost more than hashing a small object on
// the virtual machines bfc runs on.
func hashFileBuf(p string, buf []byte) (id.Object, int64, error) {
	fd, err := openRead(p)
	if err != nil {
		return id.Object{}, 0, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer syscall.Close(fd)
	h := sha256.New()
	var n int64
	for {
		k, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return id.Object{}, n, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if k == 0 {
			return id.Object(h.Sum(nil)), n, nil
		}
		h.Write(buf[:k])
		n += int64(k)
	}
}

// openRead opens p for reading with one system call.
func openRead(p string) (int, error) {
	for {
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// objectName returns the object a file under objects/ is named for: the
// file must be objects/ab/ab….arrow.
func objectName(p string) (id.Object, bool) {
	h, ok := strings.CutSuffix(filepath.Base(p), ".arrow")
	if !ok {
		return id.Object{}, false
	}
	o, err := id.ParseObject(h)
	return o, err == nil && filepath.Base(filepath.Dir(p)) == h[:2]
}
