package kit

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Type is the type of a parameter value.
type Type int

const (
	Int Type = iota
	Float
	String
	Bool
	Ints
	Floats
	Strings
)

var typeNames = [...]string{"integer", "float", "string", "boolean", "list of integers", "list of floats", "list of strings"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Param declares one parameter of a kind. Build them with IntParam,
// FloatParam, StringParam, BoolParam and the list variants, then narrow
// them with In, OneOf and NonEmpty.
type Param struct {
	Name    string
	Type    Type
	Default any // nil means required; otherwise a value of Type's Go form
	Doc     string
	Min     float64 // numeric bounds, applied to every element of a list
	Max     float64
	Enum    []string // allowed values of a String or Strings parameter
	MinLen  int      // minimum length of a list
}

func numParam(name string, t Type, def any, doc string) Param {
	return Param{Name: name, Type: t, Default: def, Doc: doc, Min: math.Inf(-1), Max: math.Inf(1)}
}

// IntParam declares an integer parameter with a default.
func IntParam(name string, def int64, doc string) Param { return numParam(name, Int, def, doc) }

// FloatParam declares a float parameter with a default.
func FloatParam(name string, def float64, doc string) Param { return numParam(name, Float, def, doc) }

// StringParam declares a string parameter with a default.
func StringParam(name, def, doc string) Param { return numParam(name, String, def, doc) }

// BoolParam declares a boolean parameter with a default.
func BoolParam(name string, def bool, doc string) Param { return numParam(name, Bool, def, doc) }

// FloatsParam declares a list-of-floats parameter with a default.
func FloatsParam(name string, def []float64, doc string) Param {
	return numParam(name, Floats, def, doc)
}

// StringsParam declares a list-of-strings parameter with a default.
func StringsParam(name string, def []string, doc string) Param {
	return numParam(name, Strings, def, doc)
}

// Required marks p as having no default.
func (p Param) Required() Param { p.Default = nil; return p }

// In bounds a numeric parameter (or each element of a numeric list) to [lo, hi].
func (p Param) In(lo, hi float64) Param { p.Min, p.Max = lo, hi; return p }

// OneOf restricts a string parameter (or each element of a string list).
func (p Param) OneOf(vals ...string) Param { p.Enum = vals; return p }

// NonEmpty requires a list parameter to have at least n elements.
func (p Param) NonEmpty(n int) Param { p.MinLen = n; return p }

// Params holds resolved parameter values in their canonical Go forms:
// int64, float64, string, bool, []int64, []float64, []string. The
// getters panic on a name the kind did not declare or a wrong type: that
// is a programming error in the kind, caught by its tests, and the engine
// turns a panicking stage into a failed stage.
type Params map[string]any

func (p Params) get(name string) any {
	v, ok := p[name]
	if !ok {
		panic(fmt.Sprintf("kit: parameter %q not declared", name))
	}
	return v
}

// Int returns an integer parameter.
func (p Params) Int(name string) int { return int(p.get(name).(int64)) }

// Float returns a float parameter.
func (p Params) Float(name string) float64 { return p.get(name).(float64) }

// String returns a string parameter.
func (p Params) String(name string) string { return p.get(name).(string) }

// Bool returns a boolean parameter.
func (p Params) Bool(name string) bool { return p.get(name).(bool) }

// Floats returns a list-of-floats parameter (a copy).
func (p Params) Floats(name string) []float64 { return slices.Clone(p.get(name).([]float64)) }

// Strings returns a list-of-strings parameter (a copy).
func (p Params) Strings(name string) []string { return slices.Clone(p.get(name).([]string)) }

// Coerce converts a decoded TOML value to the canonical Go form of t.
// TOML integers are accepted where floats are expected. It returns an
// error that describes the mismatch without naming the field.
func Coerce(t Type, v any) (any, error) {
	switch t {
	case Int:
		if i, ok := v.(int64); ok {
			return i, nil
		}
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return nil, fmt.Errorf("want an integer, have the float %v (write %d)", f, int64(f))
		}
	case Float:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case Ints, Floats, Strings:
		list, ok := v.([]any)
		if !ok {
			if typed, ok2 := canonicalList(v); ok2 {
				list = typed
			} else {
				break
			}
		}
		elem := map[Type]Type{Ints: Int, Floats: Float, Strings: String}[t]
		switch elem {
		case Int:
			out := make([]int64, len(list))
			for i, e := range list {
				c, err := Coerce(Int, e)
				if err != nil {
					return nil, fmt.Errorf("element %d: %w", i, err)
				}
				out[i] = c.(int64)
			}
			return out, nil
		case Float:
			out := make([]float64, len(list))
			for i, e := range list {
				c, err := Coerce(Float, e)
				if err != nil {
					return nil, fmt.Errorf("element %d: %w", i, err)
				}
				out[i] = c.(float64)
			}
			return out, nil
		default:
			out := make([]string, len(list))
			for i, e := range list {
				c, err := Coerce(String, e)
				if err != nil {
					return nil, fmt.Errorf("element %d: %w", i, err)
				}
				out[i] = c.(string)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("want %s, have %s", withArticle(t.String()), describe(v))
}

// canonicalList turns already-typed slices (as written in Go defaults)
// into []any so that Coerce handles both alike.
func canonicalList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []int64:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, true
	case []float64:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, true
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, true
	}
	return nil, false
}

func withArticle(s string) string {
	if strings.IndexByte("aeiou", s[0]) >= 0 {
		return "an " + s
	}
	return "a " + s
}

func describe(v any) string {
	switch x := v.(type) {
	case int64:
		return "the integer " + strconv.FormatInt(x, 10)
	case float64:
		return "the float " + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "the string " + strconv.Quote(x)
	case bool:
		return "the boolean " + strconv.FormatBool(x)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("a %T", v)
}

// Check validates a canonical value against p's bounds, enum and length.
func (p Param) Check(v any) error {
	inRange := func(x float64) error {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v is not a finite number", x)
		}
		if x < p.Min || x > p.Max {
			return fmt.Errorf("%v is out of range [%s, %s]", x, fmtBound(p.Min), fmtBound(p.Max))
		}
		return nil
	}
	inEnum := func(s string) error {
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return fmt.Errorf("%q is not one of %s%s", s, strings.Join(quoteAll(p.Enum), ", "), DidYouMean(s, p.Enum))
		}
		return nil
	}
	checkLen := func(n int) error {
		if n < p.MinLen {
			return fmt.Errorf("needs at least %d element(s), has %d", p.MinLen, n)
		}
		return nil
	}
	switch x := v.(type) {
	case int64:
		return inRange(float64(x))
	case float64:
		return inRange(x)
	case string:
		return inEnum(x)
	case []int64:
		if err := checkLen(len(x)); err != nil {
			return err
		}
		for i, e := range x {
			if err := inRange(float64(e)); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	case []float64:
		if err := checkLen(len(x)); err != nil {
			return err
		}
		for i, e := range x {
			if err := inRange(e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	case []string:
		if err := checkLen(len(x)); err != nil {
			return err
		}
		for i, e := range x {
			if err := inEnum(e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	}
	return nil
}

func fmtBound(b float64) string {
	if math.IsInf(b, 0) {
		if b > 0 {
			return "inf"
		}
		return "-inf"
	}
	return strconv.FormatFloat(b, 'g', -1, 64)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strconv.Quote(x)
	}
	return out
}

// FieldErrors is every problem Resolve found, one per parameter, in
// declaration order; errors.As finds the first *FieldError in it.
type FieldErrors []*FieldError

func (e FieldErrors) Error() string {
	msgs := make([]string, len(e))
	for i, fe := range e {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the problems, for errors.As.
func (e FieldErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, fe := range e {
		out[i] = fe
	}
	return out
}

// Resolve fills defaults and validates raw values (decoded TOML) against
// the declared params. The error is a *FieldError, or a FieldErrors when
// several parameters have problems. Unknown names are reported by the engine, which knows the TOML
// positions; Resolve ignores them.
func Resolve(decl []Param, raw map[string]any) (Params, error) {
	out := Params{}
	var errs FieldErrors
	for _, p := range decl {
		v, ok := raw[p.Name]
		if !ok {
			if p.Default == nil {
				errs = append(errs, &FieldError{Field: p.Name, Msg: "required parameter is missing"})
				continue
			}
			v = p.Default
		}
		c, err := Coerce(p.Type, v)
		if err == nil {
			err = p.Check(c)
		}
		if err != nil {
			errs = append(errs, &FieldError{Field: p.Name, Msg: err.Error()})
			continue
		}
		out[p.Name] = c
	}
	switch len(errs) {
	case 0:
		return out, nil
	case 1:
		return nil, errs[0] // a lone problem is a plain *FieldError
	}
	return nil, errs
}
