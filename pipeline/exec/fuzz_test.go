package exec

import (
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
)

// FuzzJob checks that damaged job params are an error, never a panic.
func FuzzJob(f *testing.F) {
	f.Add([]byte(`{"format":1,"key":"` + strings.Repeat("a", 64) + `","params":{"n":1}}`))
	f.Add([]byte(`{"format":2}`))
	f.Add([]byte(`{"n":3,"x":0.25,"s":"b","b":true,"xs":[1,2.5]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeParams(testkinds.Typed{}.Params(), b)
	})
}
