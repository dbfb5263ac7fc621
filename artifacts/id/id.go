// Package id holds the three identities of bfc's store, each a SHA-256
// with its own Go type so that one cannot be passed where another is meant:
//
//   - Key: a stage key, the hash over a stage point's key components
//     (kind, params, seed, input data, files, code). It names a manifest.
//   - Object: the hash of a stored file's bytes. It names an object in the
//     store (objects/ab/ab12….arrow) or a bundle (objects/ab12….arrow).
//   - Data: the hash of an output table encoded without metadata. Two
//     runs that produce the same table have the same Data even though their
//     files (which carry the key in their metadata) have different Objects;
//     downstream keys use Data, which is what makes early cutoff work.
//
// All three are written as 64 lowercase hex digits (String, MarshalText),
// so manifests, job files, refs and bundle indexes keep their JSON. Text is
// turned into an identity only by the Parse functions and UnmarshalText,
// which accept exactly that form: a malformed hash in a file or on the
// command line is an error where it is read, never a value that travels.
package id

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Key is a stage key.
type Key [32]byte

// Object is the content hash of a stored file: the name of an object.
type Object [32]byte

// Data is the hash of an output table without metadata.
type Data [32]byte

// ObjectOf returns the identity of a file with content b.
func ObjectOf(b []byte) Object { return sha256.Sum256(b) }

// DataOf returns the data identity of a table encoded without metadata as b.
func DataOf(b []byte) Data { return sha256.Sum256(b) }

// HexSum returns the hex SHA-256 of b, for hashes that are none of the
// three identities (key component values, bundle members, external files).
func HexSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ShortLen is the number of hex digits Short shows.
const ShortLen = 12

func (k Key) String() string    { return hex.EncodeToString(k[:]) }
func (o Object) String() string { return hex.EncodeToString(o[:]) }
func (d Data) String() string   { return hex.EncodeToString(d[:]) }

// Short returns the first ShortLen hex digits, for messages.
func (k Key) Short() string    { return k.String()[:ShortLen] }
func (o Object) Short() string { return o.String()[:ShortLen] }
func (d Data) Short() string   { return d.String()[:ShortLen] }

// IsZero reports whether the identity is unset.
func (k Key) IsZero() bool    { return k == Key{} }
func (o Object) IsZero() bool { return o == Object{} }
func (d Data) IsZero() bool   { return d == Data{} }

func (k Key) MarshalText() ([]byte, error)    { return []byte(k.String()), nil }
func (o Object) MarshalText() ([]byte, error) { return []byte(o.String()), nil }
func (d Data) MarshalText() ([]byte, error)   { return []byte(d.String()), nil }

func (k *Key) UnmarshalText(b []byte) error { return parseInto((*[32]byte)(k), "stage key", string(b)) }
func (o *Object) UnmarshalText(b []byte) error {
	return parseInto((*[32]byte)(o), "object id", string(b))
}
func (d *Data) UnmarshalText(b []byte) error {
	return parseInto((*[32]byte)(d), "data hash", string(b))
}

// ParseKey parses a stage key written as 64 lowercase hex digits.
func ParseKey(s string) (Key, error) {
	var k Key
	return k, k.UnmarshalText([]byte(s))
}

// ParseObject parses an object id written as 64 lowercase hex digits.
func ParseObject(s string) (Object, error) {
	var o Object
	return o, o.UnmarshalText([]byte(s))
}

// ParseData parses a data hash written as 64 lowercase hex digits.
func ParseData(s string) (Data, error) {
	var d Data
	return d, d.UnmarshalText([]byte(s))
}

// ValidHex reports whether s is a SHA-256 written as 64 lowercase hex
// digits, the only form the Parse functions accept.
func ValidHex(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func parseInto(dst *[32]byte, what, s string) error {
	if !ValidHex(s) {
		shown := s
		if len(shown) > 80 {
			shown = shown[:77] + "..."
		}
		return fmt.Errorf("%s %q is not a SHA-256 (64 lowercase hex digits)", what, shown)
	}
	hex.Decode(dst[:], []byte(s))
	return nil
}
