package id

import (
	"crypto/sha256"
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAcceptsOnlyLowercaseHexSHA256(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{"lowercase hex", good, true},
		{"empty", "", false},
		{"one digit short", good[:63], false},
		{"one digit long", good + "0", false},
		{"uppercase", strings.ToUpper(good), false},
		{"not hex", strings.Repeat("g", 64), false},
		{"with prefix", "sha256:" + good[7:], false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, errK := ParseKey(c.in)
			o, errO := ParseObject(c.in)
			d, errD := ParseData(c.in)
			for _, err := range []error{errK, errO, errD} {
				if (err == nil) != c.ok {
					t.Fatalf("parse %q: err = %v, want ok = %v", c.in, err, c.ok)
				}
			}
			if c.ok && (k.String() != c.in || o.String() != c.in || d.String() != c.in) {
				t.Fatalf("round trip: %s %s %s, want %s", k, o, d, c.in)
			}
			if !c.ok && !strings.Contains(errK.Error(), "stage key") {
				t.Fatalf("error %q does not say what was parsed", errK)
			}
		})
	}
}

func TestIdentitiesOfBytes(t *testing.T) {
	b := []byte("some table bytes")
	want := sha256.Sum256(b)
	if [32]byte(ObjectOf(b)) != want || [32]byte(DataOf(b)) != want {
		t.Fatal("ObjectOf or DataOf is not the SHA-256 of the bytes")
	}
	if HexSum(b) != ObjectOf(b).String() {
		t.Fatalf("HexSum %s != %s", HexSum(b), ObjectOf(b))
	}
	if s := ObjectOf(b).Short(); len(s) != ShortLen || !strings.HasPrefix(ObjectOf(b).String(), s) {
		t.Fatalf("Short = %q", s)
	}
	if !(Key{}).IsZero() || ObjectOf(b).IsZero() {
		t.Fatal("IsZero")
	}
}

// TestJSONIsHexText checks that the identities appear in JSON as the hex
// strings manifests have always held, and that a malformed one is an
// error when the JSON is read.
func TestJSONIsHexText(t *testing.T) {
	type doc struct {
		Key  Key    `json:"key"`
		File Object `json:"file"`
		Data Data   `json:"data"`
	}
	d := doc{Key: Key(ObjectOf([]byte("k"))), File: ObjectOf([]byte("f")), Data: DataOf([]byte("d"))}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"key":"` + HexSum([]byte("k")) + `","file":"` + HexSum([]byte("f")) + `","data":"` + HexSum([]byte("d")) + `"}`
	if string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	var back doc
	if err := json.Unmarshal(b, &back); err != nil || back != d {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for _, bad := range []string{`{"key":"abc"}`, `{"file":""}`, `{"data":7}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestIdentitiesDoNotMix type-checks this package with one more statement
// at a time: passing one identity where another is meant must not compile,
// while the same statement with matching types does (the control).
func TestIdentitiesDoNotMix(t *testing.T) {
	cases := []struct {
		stmt    string
		compile bool
	}{
		{"var _ Key = Key{}", true},
		{"var _ Object = ObjectOf(nil)", true},
		{"var _ Object = Key{}", false},
		{"var _ Key = DataOf(nil)", false},
		{"var _ Data = ObjectOf(nil)", false},
		{"var _ = func(Object) {}(Data{})", false},
		{"var _ = map[Key]bool{Object{}: true}", false},
		{"var _ string = Key{}", false},
		{"var _ Key = \"00\"", false},
	}
	fset := token.NewFileSet()
	var files []*ast.File
	srcs, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range srcs {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, p, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	imp := importer.ForCompiler(fset, "source", nil)
	for _, c := range cases {
		t.Run(c.stmt, func(t *testing.T) {
			extra, err := parser.ParseFile(fset, "extra.go", "package id\n"+c.stmt+"\n", 0)
			if err != nil {
				t.Fatal(err)
			}
			conf := types.Config{Importer: imp}
			_, err = conf.Check("id", fset, append(files[:len(files):len(files)], extra), nil)
			if c.compile && err != nil {
				t.Fatalf("control does not compile: %v", err)
			}
			if !c.compile && err == nil {
				t.Fatal("compiles, but mixes identities")
			}
		})
	}
}
