package store

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// TestKeyOfIsTheDocumentedHash recomputes keys from their definition (the
// SHA-256 of "bfc-key-v1\n" and "name\x00hash\n" per component in name
// order): every stored key depends on these bytes.
func TestKeyOfIsTheDocumentedHash(t *testing.T) {
	cases := [][]Component{
		nil,
		{NewComponent("kind", "train")},
		{NewComponent("seed", "master=1 seed=3"), NewComponent("kind", "src"), NewComponent("param:n", "1000"), NewComponent("code.pkg:x", "")},
		{NewComponent("input:000", "src[seed=1] values=ab"), NewComponent("name with ü and spaces", "value\nwith newline")},
	}
	for _, cs := range cases {
		sorted := slices.Clone(cs)
		slices.SortFunc(sorted, func(a, b Component) int { return strings.Compare(a.Name, b.Name) })
		h := sha256.New()
		fmt.Fprint(h, "bfc-key-v1\n")
		for _, c := range sorted {
			fmt.Fprintf(h, "%s\x00%s\n", c.Name, c.Hash)
		}
		want := id.Key(h.Sum(nil))
		got, err := KeyOf(cs)
		if err != nil || got != want {
			t.Errorf("KeyOf(%v) = %v, %v; want %v", cs, got, err, want)
		}
		if got, err := KeyOfNew(cs); err != nil || got != want {
			t.Errorf("KeyOfNew(%v) = %v, %v; want %v", cs, got, err, want)
		}
	}
	bad := NewComponent("kind", "train")
	bad.Hash = strings.Repeat("0", 64)
	if _, err := KeyOf([]Component{bad}); err == nil {
		t.Error("KeyOf accepted a component whose hash is not its value's")
	}
}

// TestFastManifestDecodesWhatBfcWrites checks that the manifests the store
// writes (indented) and their compact encoding take the fast path, with
// the result encoding/json gives, and that inputs outside its subset are
// left to encoding/json.
func TestFastManifestDecodesWhatBfcWrites(t *testing.T) {
	s, _ := Open(t.TempDir(), true)
	m := testManifest(t, s)
	m.Probes = []ProbeRef{{Name: "p[n=1]", Key: id.Key{1}}}
	m.Run.Notes = map[string]string{"a": "b"}
	m.Run.CPU = "AMD EPYC"
	// String parameters are JSON inside JSON: json.Marshal escapes their
	// quotes, and <, >, & and control characters of any string.
	m.Components = append(m.Components, NewComponent("param:method", `"krr_poly"`), NewComponent("param:note", "a<b & c>d\n\t\\/é\u2028"))
	m.Key, _ = KeyOf(m.Components)
	indented, _ := json.MarshalIndent(m, "", "  ")
	compact, _ := json.Marshal(m)
	for _, b := range [][]byte{indented, compact} {
		got, ok := fastManifest(b)
		if !ok {
			t.Fatalf("fastManifest gave up on a manifest bfc writes:\n%s", b)
		}
		var want Manifest
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("fastManifest = %+v, want %+v", *got, want)
		}
	}
	outside := []string{
		`{"format":1,"outputs":null}`,          // null
		`{"Format":1}`,                         // another case (encoding/json accepts it)
		`{"format":1,"format":1}`,              // repeated field
		`{"format":1,"k\u0069nd":"a"}`,         // escape in a field name
		`{"format":1,"kind":"a\ud83d\ude00"}`,  // escaped surrogates
		`{"format":1,"kind":"a\x"}`,            // not an escape
		`{"format":1,"kind":"a\u00g1"}`,        // not hexadecimal
		`{"format":1.0}`,                       // not an integer
		`{"format":01}`,                        // not JSON
		`{"format":1,"run":{"wall_s":1e400}}`,  // out of range
		`{"format":1,"surprise":true}`,         // unknown field
		`{"format":1} {}`,                      // trailing data
		`{"format":1,"key":"xyz"}`,             // not a key
		"{\"format\":1,\"kind\":\"\xff\"}",     // invalid UTF-8
		`{"format":1,"run":{"vcs_dirty":tru}}`, // not JSON
		`[{"format":1}]`,                       // not an object
	}
	for _, in := range outside {
		if _, ok := fastManifest([]byte(in)); ok {
			t.Errorf("fastManifest decoded %q, which is outside its subset", in)
		}
	}
}
