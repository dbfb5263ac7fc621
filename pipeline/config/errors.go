package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ConfigError is a problem in the pipeline file: it names the file, the
// line (when known) and the field, as in
//
//	pipeline.toml:42: stage.E1_train.params.n_trian: unknown parameter of kind "train" (did you mean "n_train"?)
type ConfigError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Field + ": " + e.Msg
}

// Errors is every problem found in a pipeline file, ordered by line.
// Its Error has one line per problem; errors.As finds the first
// *ConfigError in it.
type Errors []*ConfigError

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, ce := range e {
		lines[i] = ce.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.As and errors.Is.
func (e Errors) Unwrap() []error {
	out := make([]error, len(e))
	for i, ce := range e {
		out[i] = ce
	}
	return out
}

// Collect flattens errs (each nil, a *ConfigError, an Errors or any other
// error, which becomes a ConfigError of file) into one Errors without
// repeats, sorted by line (stably, so problems of one line keep their
// order), or nil if there are none.
func Collect(file string, errs ...error) error {
	var out Errors
	seen := map[string]bool{}
	var add func(err error)
	add = func(err error) {
		var list Errors
		var ce *ConfigError
		switch {
		case err == nil:
		case errors.As(err, &list):
			for _, e := range list {
				add(e)
			}
		case errors.As(err, &ce):
			if !seen[ce.Error()] {
				seen[ce.Error()] = true
				out = append(out, ce)
			}
		default:
			add(&ConfigError{File: file, Msg: err.Error()})
		}
	}
	for _, err := range errs {
		add(err)
	}
	if len(out) == 0 {
		return nil
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// Suggest returns ` (did you mean "x"?)` for the closest candidate to s,
// or the list of candidates when there are few and none is close, or "".
func Suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len(s)/3)
	if best == "" || bestD > limit {
		if len(candidates) > 0 && len(candidates) <= 12 {
			c := append([]string(nil), candidates...)
			sort.Strings(c)
			return " (valid: " + strings.Join(c, ", ") + ")"
		}
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of neighbours
// each cost one, so "sede" is one step from "seed".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
