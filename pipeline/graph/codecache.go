package graph

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// The code hash cache. Hashing a package's token streams (tokenHash) is
// most of what computing code identities costs, tens of milliseconds per
// command for the real kinds; the result is a function of the package's
// files and of the Go version whose scanner reads them. So a CodeBase can
// remember it in a file (LoadHashes, Hashes; cmd/bfc keeps one in the
// store), keyed
// by the SHA-256 of the package's file names and bytes (contentHash) and
// the Go version: the files of a package are rehashed byte for byte (about
// a millisecond for all of them), the tokens only when a package changed.
// The file ends with the SHA-256 of its lines; a file that does not check
// is ignored and rewritten.

const codeCacheVersion = "bfc-codehash-v1"

type codeCache struct {
	mu      sync.Mutex
	entries map[string]string // content hash -> token hash
	added   bool
}

func (c *codeCache) get(content string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.entries[content]
	return h, ok
}

func (c *codeCache) put(content, h string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]string{}
	}
	if c.entries[content] != h {
		c.entries[content] = h
		c.added = true
	}
}

// contentHash identifies the bytes of a package's files and the hashing
// that reads them.
func (cb *CodeBase) contentHash(info *pkgInfo) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", codeCacheVersion, runtime.Version())
	for _, f := range info.files {
		src, err := fs.ReadFile(cb.fsys, f)
		if err != nil {
			return "", fmt.Errorf("code identity: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(src))
		h.Write(src)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// LoadHashes takes the cache from b, the bytes of a file written from
// Hashes (cmd/bfc keeps it in the store); damaged bytes are ignored, and
// Hashes then reports a change so that the file is rewritten.
func (cb *CodeBase) LoadHashes(b []byte) {
	c := &cb.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]string{}
	}
	body, sumLine, ok := cutLastLine(b)
	sum := sha256.Sum256(body)
	if !ok || sumLine != "sum "+hex.EncodeToString(sum[:]) {
		c.added = true
		return
	}
	entries := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		content, h, ok := strings.Cut(sc.Text(), " ")
		if !ok || !isHexHash(content) || !isHexHash(h) {
			c.added = true
			return
		}
		entries[content] = h
	}
	for k, v := range entries {
		c.entries[k] = v
	}
}

// Hashes encodes the cache for LoadHashes, and reports whether it changed
// since: this process hashed a package the cache did not hold, or the
// bytes it loaded were damaged.
func (cb *CodeBase) Hashes() (b []byte, changed bool) {
	c := &cb.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	var body bytes.Buffer
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range c.entries {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&body, "%s %s\n", k, c.entries[k])
	}
	sum := sha256.Sum256(body.Bytes())
	fmt.Fprintf(&body, "sum %s\n", hex.EncodeToString(sum[:]))
	changed, c.added = c.added, false
	return body.Bytes(), changed
}

// cutLastLine splits b before its last line, which it returns without the
// newline.
func cutLastLine(b []byte) (body []byte, last string, ok bool) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, "", false
	}
	i := bytes.LastIndexByte(b[:len(b)-1], '\n')
	return b[:i+1], string(b[i+1 : len(b)-1]), true
}

func isHexHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
