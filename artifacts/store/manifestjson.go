package store

import (
	"strconv"
	"unicode/utf8"
)

// A status or no-op run of a pipeline reads one manifest per point, and
// encoding/json's reflection spends about 40 µs on each, most of the time
// of a no-op run at sweep scale (BenchmarkSweep in pipeline/exec). The
// manifests bfc writes (json.MarshalIndent of a Manifest) use a small
// subset of JSON, which fastManifest decodes directly, several times
// faster. It accepts only input that encoding/json decodes to the same
// Manifest (exact field names, each at most once; strings without control
// characters, invalid UTF-8 or escaped surrogates; numbers in JSON's grammar that fit
// their fields; no null) and gives up on anything else, which
// ParseManifest then hands to encoding/json: the fallback defines both the
// meaning of unusual input and the error messages. FuzzParseManifest
// checks that the two agree.

// fastManifest decodes b if it is in the subset, and reports whether it did.
func fastManifest(b []byte) (*Manifest, bool) {
	d := &mdec{b: b, ok: true}
	var m Manifest
	var seen uint32
	d.ws()
	d.object(func(k []byte) {
		switch string(k) {
		case "format":
			d.once(&seen, 0)
			m.Format = d.int()
		case "key":
			d.once(&seen, 1)
			d.text(m.Key.UnmarshalText)
		case "kind":
			d.once(&seen, 2)
			m.Kind = d.str()
		case "stage":
			d.once(&seen, 3)
			m.Stage = d.str()
		case "components":
			d.once(&seen, 4)
			m.Components = []Component{}
			d.array(func() {
				var c Component
				var cs uint32
				d.object(func(k []byte) {
					switch string(k) {
					case "name":
						d.once(&cs, 0)
						c.Name = d.str()
					case "value":
						d.once(&cs, 1)
						c.Value = d.str()
					case "hash":
						d.once(&cs, 2)
						c.Hash = d.str()
					default:
						d.ok = false
					}
				})
				m.Components = append(m.Components, c)
			})
		case "outputs":
			d.once(&seen, 5)
			m.Outputs = []Output{}
			d.array(func() {
				var o Output
				var os uint32
				d.object(func(k []byte) {
					switch string(k) {
					case "name":
						d.once(&os, 0)
						o.Name = d.str()
					case "file":
						d.once(&os, 1)
						d.text(o.File.UnmarshalText)
					case "data":
						d.once(&os, 2)
						d.text(o.Data.UnmarshalText)
					case "size":
						d.once(&os, 3)
						o.Size = d.int64()
					case "rows":
						d.once(&os, 4)
						o.Rows = d.int64()
					default:
						d.ok = false
					}
				})
				m.Outputs = append(m.Outputs, o)
			})
		case "probes":
			d.once(&seen, 6)
			m.Probes = []ProbeRef{}
			d.array(func() {
				var p ProbeRef
				var ps uint32
				d.object(func(k []byte) {
					switch string(k) {
					case "name":
						d.once(&ps, 0)
						p.Name = d.str()
					case "key":
						d.once(&ps, 1)
						d.text(p.Key.UnmarshalText)
					default:
						d.ok = false
					}
				})
				m.Probes = append(m.Probes, p)
			})
		case "run":
			d.once(&seen, 7)
			d.run(&m.Run)
		default:
			d.ok = false
		}
	})
	d.ws()
	if !d.ok || d.i != len(d.b) {
		return nil, false
	}
	return &m, true
}

func (d *mdec) run(r *RunRecord) {
	var seen uint32
	d.object(func(k []byte) {
		switch string(k) {
		case "start":
			d.once(&seen, 0)
			r.Start = d.str()
		case "wall_s":
			d.once(&seen, 1)
			r.WallSeconds = d.float()
		case "user_s":
			d.once(&seen, 2)
			r.UserSeconds = d.float()
		case "sys_s":
			d.once(&seen, 3)
			r.SysSeconds = d.float()
		case "max_rss_bytes":
			d.once(&seen, 4)
			r.MaxRSSBytes = d.int64()
		case "threads":
			d.once(&seen, 5)
			r.Threads = d.int()
		case "host":
			d.once(&seen, 6)
			r.Host = d.str()
		case "cpu":
			d.once(&seen, 15)
			r.CPU = d.str()
		case "go":
			d.once(&seen, 7)
			r.GoVersion = d.str()
		case "program":
			d.once(&seen, 8)
			r.Program = d.str()
		case "vcs_revision":
			d.once(&seen, 9)
			r.VCSRevision = d.str()
		case "vcs_dirty":
			d.once(&seen, 10)
			r.VCSDirty = d.bool()
		case "build_tags":
			d.once(&seen, 11)
			r.BuildTags = d.str()
		case "executor":
			d.once(&seen, 12)
			r.Executor = d.str()
		case "log":
			d.once(&seen, 13)
			r.Log = d.str()
		case "notes":
			d.once(&seen, 14)
			r.Notes = map[string]string{}
			d.object(func(k []byte) {
				key := string(k)
				if _, dup := r.Notes[key]; dup {
					d.ok = false
					return
				}
				r.Notes[key] = d.str()
			})
		default:
			d.ok = false
		}
	})
}

// mdec is the decoder's state; ok turns false at the first byte outside
// the subset, after which every method returns at once.
type mdec struct {
	b  []byte
	i  int
	ok bool
}

// once marks field bit of *seen, and gives up if it was marked already
// (encoding/json would merge or overwrite a repeated field).
func (d *mdec) once(seen *uint32, bit uint) {
	if *seen&(1<<bit) != 0 {
		d.ok = false
	}
	*seen |= 1 << bit
}

func (d *mdec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// expect consumes byte c (after white space).
func (d *mdec) expect(c byte) {
	d.ws()
	if !d.ok || d.i >= len(d.b) || d.b[d.i] != c {
		d.ok = false
		return
	}
	d.i++
}

// peek returns the next byte after white space (0 at the end).
func (d *mdec) peek() byte {
	d.ws()
	if d.i >= len(d.b) {
		return 0
	}
	return d.b[d.i]
}

// object decodes {"k": v, ...}, calling field with each key; field must
// consume the value (or clear ok).
func (d *mdec) object(field func(k []byte)) {
	d.expect('{')
	if !d.ok {
		return
	}
	if d.peek() == '}' {
		d.i++
		return
	}
	for d.ok {
		k := d.rawStr()
		d.expect(':')
		if !d.ok {
			return
		}
		field(k)
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return
		default:
			d.ok = false
		}
	}
}

// array decodes [v, ...], calling elem for each element.
func (d *mdec) array(elem func()) {
	d.expect('[')
	if !d.ok {
		return
	}
	if d.peek() == ']' {
		d.i++
		return
	}
	for d.ok {
		elem()
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return
		default:
			d.ok = false
		}
	}
}

// rawStr decodes a string without escapes or control characters, in valid
// UTF-8, and returns its bytes (aliasing the input).
func (d *mdec) rawStr() []byte {
	d.expect('"')
	if !d.ok {
		return nil
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !utf8.Valid(s) {
				d.ok = false
			}
			return s
		case c == '\\' || c < 0x20:
			d.ok = false
			return nil
		}
		d.i++
	}
	d.ok = false
	return nil
}

// str decodes a string value. Without escapes it is rawStr's bytes;
// with them (json.Marshal writes \" around string parameters, \u003c for
// <, and so on) each escape is decoded as encoding/json does: the
// two-character escapes and \uXXXX outside the surrogates (a surrogate,
// paired or not, gives up).
func (d *mdec) str() string {
	d.ws()
	if !d.ok || d.i >= len(d.b) || d.b[d.i] != '"' {
		d.ok = false
		return ""
	}
	end := d.i + 1
	for end < len(d.b) && d.b[end] != '"' && d.b[end] != '\\' {
		end++
	}
	if end >= len(d.b) || d.b[end] == '"' {
		s := d.rawStr()
		if !d.ok {
			return ""
		}
		return string(s)
	}
	d.i++
	var out []byte
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				d.ok = false
				return ""
			}
			return string(out)
		case c < 0x20:
			d.ok = false
			return ""
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			d.ok = false
			return ""
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if d.i+4 > len(d.b) {
				d.ok = false
				return ""
			}
			r, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 32)
			if err != nil || (r >= 0xd800 && r < 0xe000) || !isHex4(d.b[d.i:d.i+4]) {
				d.ok = false
				return ""
			}
			out = utf8.AppendRune(out, rune(r))
			d.i += 4
		default:
			d.ok = false
			return ""
		}
	}
	d.ok = false
	return ""
}

// isHex4 reports whether b is four hexadecimal digits (ParseUint alone
// would take a sign or an underscore).
func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return len(b) == 4
}

// text decodes a string into a value with an UnmarshalText method (the
// hashes of package id), as encoding/json would.
func (d *mdec) text(unmarshal func([]byte) error) {
	s := d.rawStr()
	if d.ok && unmarshal(s) != nil {
		d.ok = false
	}
}

func (d *mdec) bool() bool {
	d.ws()
	switch {
	case d.ok && hasPrefix(d.b[d.i:], "true"):
		d.i += 4
		return true
	case d.ok && hasPrefix(d.b[d.i:], "false"):
		d.i += 5
		return false
	}
	d.ok = false
	return false
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// number returns the next number literal, which must follow JSON's
// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; integral tells
// whether it has neither fraction nor exponent.
func (d *mdec) number() (lit string, integral bool) {
	d.ws()
	if !d.ok {
		return "", false
	}
	b, i := d.b, d.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		d.ok = false
		return "", false
	}
	integral = true
	if i < len(b) && b[i] == '.' {
		i++
		integral = false
		if !digits() {
			d.ok = false
			return "", false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		integral = false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			d.ok = false
			return "", false
		}
	}
	lit = string(b[d.i:i])
	d.i = i
	return lit, integral
}

func (d *mdec) int64() int64 {
	lit, integral := d.number()
	if !d.ok || !integral {
		d.ok = false
		return 0
	}
	v, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		d.ok = false
	}
	return v
}

func (d *mdec) int() int {
	lit, integral := d.number()
	if !d.ok || !integral {
		d.ok = false
		return 0
	}
	v, err := strconv.ParseInt(lit, 10, strconv.IntSize)
	if err != nil {
		d.ok = false
	}
	return int(v)
}

func (d *mdec) float() float64 {
	lit, _ := d.number()
	if !d.ok {
		return 0
	}
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		d.ok = false
	}
	return v
}
