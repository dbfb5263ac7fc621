package view

import (
	"fmt"
	"strings"

	"github.com/bfc-repro/bfc/artifacts/store"
)

// DiffComponents explains how the key components new differ from old, in
// words. With partial set, new lacks input components and inputs are not compared.
func DiffComponents(old, new []store.Component, partial bool) []string {
	om := map[string]store.Component{}
	for _, c := range old {
		om[c.Name] = c
	}
	nm := map[string]store.Component{}
	for _, c := range new {
		nm[c.Name] = c
	}
	var out []string
	for _, c := range new {
		o, ok := om[c.Name]
		if !ok {
			out = append(out, describeAdded(c))
			continue
		}
		if o.Hash != c.Hash {
			out = append(out, describeChange(o, c))
		}
	}
	for _, c := range old {
		if _, ok := nm[c.Name]; ok {
			continue
		}
		if partial && strings.HasPrefix(c.Name, "input:") {
			continue
		}
		out = append(out, "removed "+label(c.Name)+" (was "+Clip(c.Value)+")")
	}
	return out
}

func label(name string) string {
	kind, rest, _ := strings.Cut(name, ":")
	switch kind {
	case "param":
		return "param " + rest
	case "input":
		return "input " + strings.TrimLeft(rest, "0")
	case "file":
		return "file " + rest
	case "code.pkg":
		return "code of package " + rest
	case "code.mod":
		return "module " + rest
	}
	return name
}

// Clip shortens a component value for a message.
func Clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func describeAdded(c store.Component) string {
	return "new " + label(c.Name) + " = " + Clip(c.Value)
}

func describeChange(o, c store.Component) string {
	kind, rest, _ := strings.Cut(c.Name, ":")
	switch kind {
	case "param":
		return fmt.Sprintf("param %s %s -> %s", rest, Clip(o.Value), Clip(c.Value))
	case "input":
		return "upstream " + InputChange(o.Value, c.Value)
	case "file":
		return "file " + rest + " changed"
	case "code.pkg":
		return "code of package " + rest + " changed"
	case "code.mod":
		return fmt.Sprintf("module %s %s -> %s", rest, strings.Fields(o.Value + " ?")[0], strings.Fields(c.Value + " ?")[0])
	case "code.go":
		return fmt.Sprintf("Go version %s -> %s", o.Value, c.Value)
	case "code.arch":
		return fmt.Sprintf("architecture %s -> %s", o.Value, c.Value)
	case "code.blas":
		return fmt.Sprintf("BLAS backend %s -> %s", o.Value, c.Value)
	case "seed":
		return fmt.Sprintf("seed %s -> %s", o.Value, c.Value)
	case "kind":
		return fmt.Sprintf("kind %s -> %s", o.Value, c.Value)
	}
	return fmt.Sprintf("%s %s -> %s", c.Name, Clip(o.Value), Clip(c.Value))
}

// InputChange words the change of an input component ("kind[labels]
// name=hash ..."): which outputs of the input changed.
func InputChange(old, new string) string {
	of, nf := strings.Fields(old), strings.Fields(new)
	if len(of) == 0 || len(nf) == 0 {
		return "input changed"
	}
	if of[0] != nf[0] {
		return fmt.Sprintf("input %s replaced by %s", of[0], nf[0])
	}
	oo := map[string]string{}
	for _, f := range of[1:] {
		n, h, _ := strings.Cut(f, "=")
		oo[n] = h
	}
	var changed []string
	for _, f := range nf[1:] {
		n, h, _ := strings.Cut(f, "=")
		if oo[n] != h {
			changed = append(changed, n)
		}
	}
	return fmt.Sprintf("%s output changed (%s)", nf[0], strings.Join(changed, ", "))
}

// FirstN returns the first n reasons, and how many more there are.
func FirstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
}
