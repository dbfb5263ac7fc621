package config

import "testing"

// FuzzLocateKeys checks that the key locator, which runs on every file the
// TOML parser accepts and must never fail, returns on any input without a
// panic, and that every line it reports is in the file.
func FuzzLocateKeys(f *testing.F) {
	for _, s := range []string{
		"[stage.a]\nkind = \"k\"\nparams = { n = 3, x = 0.1 }\n",
		"a = \"\"\"\nmulti\n\"\"\"\n[stage.'q']\nkind='k'\n",
		"[[stage]]\nkind = 1\n",
		"x = [1, [2, {a = 1}]]\n# comment\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := 1
		for i := 0; i < len(src); i++ {
			if src[i] == '\n' {
				lines++
			}
		}
		for k, l := range locateKeys([]byte(src)) {
			if l < 1 || l > lines {
				t.Fatalf("key %q at line %d of a %d-line file", k, l, lines)
			}
		}
	})
}
