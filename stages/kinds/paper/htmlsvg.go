package paper

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/bfc-repro/bfc/stages/kinds/figure"
	"github.com/bfc-repro/bfc/stages/kit"
)

// figureSVGs returns, for each gathered figure (file stem), the SVG its
// figure stage published, checked and ready to inline (inlineSVG). When
// several gathered stages publish one stem, the first input's is used, as
// README.md links the one file the project holds under that name.
func figureSVGs(ins []kit.Input, figs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, in := range ins {
		if in.Kind() != "figure" {
			continue
		}
		stem := figure.FileStem(in.Params())
		if _, done := out[stem]; done {
			continue
		}
		raw, err := publishedFile(in, PublishedName(kit.Figures, stem+".svg"))
		if err != nil {
			return nil, fmt.Errorf("figure %s: %w", stem, err)
		}
		svg, err := inlineSVG(raw, stem)
		if err != nil {
			return nil, fmt.Errorf("figure %s: %s.svg: %w", stem, stem, err)
		}
		out[stem] = svg
	}
	for _, f := range figs {
		if _, ok := out[f]; !ok {
			return nil, fmt.Errorf("figure %s: no gathered figure stage published it", f)
		}
	}
	return out, nil
}

// publishedFile reads the content of a published-file output of in: a
// one-row table whose column "bytes" holds the file.
func publishedFile(in kit.Input, name string) ([]byte, error) {
	rec, err := in.Read(name)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	for i, f := range rec.Schema().Fields() {
		if col, ok := rec.Column(i).(*array.Binary); ok && f.Name == "bytes" && rec.NumRows() == 1 {
			return bytes.Clone(col.Value(0)), nil
		}
	}
	return nil, fmt.Errorf("output %s is not a published file (one row with a binary column bytes)", name)
}

// svgForbidden are the SVG elements that could run code, embed another
// document or load something.
var svgForbidden = map[string]bool{"script": true, "foreignObject": true, "iframe": true, "image": true, "feImage": true,
	"a": true, "audio": true, "video": true, "style": true}

// inlineSVG checks an SVG file for inlining into the page and returns its
// <svg> element (without the XML declaration and comments before it),
// labelled as figure name. It must be well-formed XML with an svg root
// and nothing that runs code or loads anything: no scripts, no event
// attributes, no links except to fragments (#id), no url() except
// url(#id).
func inlineSVG(raw []byte, name string) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	start, depth := int64(-1), 0
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("not well-formed: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if start >= 0 {
					return "", errors.New("more than one root element")
				}
				if t.Name.Local != "svg" || t.Name.Space != "http://www.w3.org/2000/svg" {
					return "", fmt.Errorf("the root element is %s, not svg", t.Name.Local)
				}
				start = off
			}
			if svgForbidden[t.Name.Local] {
				return "", fmt.Errorf("element %s is not allowed in an inlined figure", t.Name.Local)
			}
			for _, a := range t.Attr {
				if err := svgAttrOK(a); err != nil {
					return "", fmt.Errorf("element %s: %w", t.Name.Local, err)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return "", errors.New("text outside the svg element")
			}
		case xml.ProcInst:
			if depth > 0 || start >= 0 {
				return "", errors.New("a processing instruction after the XML declaration")
			}
		case xml.Directive:
			return "", errors.New("a DTD or other directive")
		}
	}
	if start < 0 {
		return "", errors.New("no svg element")
	}
	body := strings.TrimSpace(string(raw[start:]))
	return `<svg role="img" aria-label="Figure ` + html.EscapeString(name) + `"` + strings.TrimPrefix(body, "<svg"), nil
}

// svgAttrOK checks one attribute of an inlined SVG element.
func svgAttrOK(a xml.Attr) error {
	n, v := strings.ToLower(a.Name.Local), strings.ToLower(strings.TrimSpace(a.Value))
	switch {
	case strings.HasPrefix(n, "on"):
		return fmt.Errorf("event attribute %s", a.Name.Local)
	case n == "href" || n == "src":
		if !strings.HasPrefix(v, "#") {
			return fmt.Errorf("attribute %s links outside the figure (%q)", a.Name.Local, a.Value)
		}
	}
	for rest := v; ; {
		i := strings.Index(rest, "url(")
		if i < 0 {
			break
		}
		if !strings.HasPrefix(strings.TrimLeft(rest[i+4:], ` '"`), "#") {
			return fmt.Errorf("attribute %s refers to %q", a.Name.Local, a.Value)
		}
		rest = rest[i+4:]
	}
	if strings.Contains(v, "@import") || strings.Contains(v, "javascript:") {
		return fmt.Errorf("attribute %s: %q", a.Name.Local, a.Value)
	}
	return nil
}
