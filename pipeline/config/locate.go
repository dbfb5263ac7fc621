package config

import "strings"

// locateKeys maps every key of a (syntactically valid) TOML document to
// the line where it is written, so that validation errors can point at
// the offending line. Paths are the keys joined with "."; array elements
// are not indexed. BurntSushi/toml does not expose key positions, and this
// scanner only has to find keys in text that the parser already accepted.
// It never panics: on anything unexpected it returns what it found so far.
func locateKeys(src []byte) (pos map[string]int) {
	l := &locator{src: src, line: 1, pos: map[string]int{}}
	defer func() {
		if recover() != nil {
			pos = l.pos
		}
	}()
	l.document()
	return l.pos
}

type locator struct {
	src  []byte
	i    int
	line int
	pos  map[string]int
}

func (l *locator) eof() bool { return l.i >= len(l.src) }

func (l *locator) peek(off int) byte {
	if l.i+off < len(l.src) {
		return l.src[l.i+off]
	}
	return 0
}

func (l *locator) advance() {
	if l.src[l.i] == '\n' {
		l.line++
	}
	l.i++
}

// skip skips spaces and tabs, and newlines and comments if nl is set.
func (l *locator) skip(nl bool) {
	for !l.eof() {
		c := l.src[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			l.i++
		case nl && c == '\n':
			l.advance()
		case nl && c == '#':
			for !l.eof() && l.src[l.i] != '\n' {
				l.i++
			}
		default:
			return
		}
	}
}

func (l *locator) record(path []string, line int) {
	k := strings.Join(path, ".")
	if _, ok := l.pos[k]; !ok {
		l.pos[k] = line
	}
}

func (l *locator) document() {
	var table []string
	for {
		l.skip(true)
		if l.eof() {
			return
		}
		if l.src[l.i] == '[' {
			arr := l.peek(1) == '['
			l.i++
			if arr {
				l.i++
			}
			line := l.line
			keys := l.keys()
			table = keys
			l.record(keys, line)
			for !l.eof() && l.src[l.i] != '\n' {
				l.i++
			}
			continue
		}
		l.keyValue(table)
	}
}

// keyValue reads `key = value` and records key (and nested inline keys).
func (l *locator) keyValue(prefix []string) {
	line := l.line
	keys := l.keys()
	path := append(append([]string(nil), prefix...), keys...)
	for n := len(prefix) + 1; n <= len(path); n++ {
		l.record(path[:n], line)
	}
	l.skip(false)
	if !l.eof() && l.src[l.i] == '=' {
		l.i++
	}
	l.value(path)
}

// keys reads a dotted key up to '=', ']' or end of line.
func (l *locator) keys() []string {
	var out []string
	for {
		l.skip(false)
		if l.eof() {
			return out
		}
		c := l.src[l.i]
		switch {
		case c == '"' || c == '\'':
			out = append(out, l.quoted(c))
		case c == '=' || c == ']' || c == '\n':
			if c == ']' {
				for !l.eof() && l.src[l.i] == ']' {
					l.i++
				}
			}
			return out
		case c == '.':
			l.i++
		default:
			start := l.i
			for !l.eof() {
				c := l.src[l.i]
				if c == '.' || c == '=' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' {
					break
				}
				l.i++
			}
			if l.i == start {
				l.i++ // unexpected byte: make progress
				continue
			}
			out = append(out, string(l.src[start:l.i]))
		}
	}
}

// quoted reads a single-line quoted key or string and returns its raw body.
func (l *locator) quoted(q byte) string {
	l.i++
	start := l.i
	for !l.eof() && l.src[l.i] != q && l.src[l.i] != '\n' {
		if q == '"' && l.src[l.i] == '\\' {
			l.i++
		}
		l.i++
	}
	end := min(l.i, len(l.src))
	if !l.eof() && l.src[l.i] == q {
		l.i++
	}
	return string(l.src[start:end])
}

func (l *locator) value(path []string) {
	l.skip(false)
	if l.eof() {
		return
	}
	switch c := l.src[l.i]; c {
	case '{':
		l.i++
		for {
			l.skip(true)
			if l.eof() {
				return
			}
			if l.src[l.i] == '}' {
				l.i++
				return
			}
			if l.src[l.i] == ',' {
				l.i++
				continue
			}
			l.keyValue(path)
		}
	case '[':
		l.i++
		for {
			l.skip(true)
			if l.eof() {
				return
			}
			switch l.src[l.i] {
			case ']':
				l.i++
				return
			case ',':
				l.i++
			default:
				before := l.i
				l.value(path)
				if l.i == before {
					l.advance()
				}
			}
		}
	case '"', '\'':
		if l.peek(1) == c && l.peek(2) == c {
			l.i += 3
			for !l.eof() {
				if l.src[l.i] == c && l.peek(1) == c && l.peek(2) == c {
					l.i += 3
					for !l.eof() && l.src[l.i] == c { // up to two quotes may end the body
						l.i++
					}
					return
				}
				if c == '"' && l.src[l.i] == '\\' {
					l.advance()
					if l.eof() {
						return
					}
				}
				l.advance()
			}
			return
		}
		l.quoted(c)
	default:
		for !l.eof() {
			c := l.src[l.i]
			if c == ',' || c == ']' || c == '}' || c == '\n' || c == '#' {
				return
			}
			l.i++
		}
	}
}
