package fhir

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// typeInvariants are the FHIRPath invariants of data types this validator evaluates;
// each is named by its key in the specification.
func (v *validator) typeInvariants(ty, path string, o Object) {
	switch ty {
	case "Period":
		// per-1: if present, start SHALL have a lower value than end. Values of different
		// precision that overlap cannot be ordered (FHIRPath gives empty), which fails too.
		s, _ := o["start"].(string)
		e, _ := o["end"].(string)
		if s == "" || e == "" {
			return
		}
		slo, shi, err1 := parseFHIRTime(s)
		elo, _, err2 := parseFHIRTime(e)
		if err1 != nil || err2 != nil {
			return
		}
		if len(s) == len(e) || (len(s) > 10 && len(e) > 10) {
			if slo.After(elo) {
				v.add("invariant", path, "per-1: start %s is after end %s", s, e)
			}
			return
		}
		if shi.After(elo) {
			v.add("invariant", path, "per-1: start %s is not before end %s (different precisions that overlap cannot be ordered)", s, e)
		}
	case "Attachment":
		data, ok := o["data"].(string)
		if !ok {
			return
		}
		raw, err := base64.StdEncoding.DecodeString(stripSpace(data))
		if err != nil {
			return // reported as a base64Binary error
		}
		if _, ok := o["contentType"]; !ok {
			v.add("invariant", path, "att-1: if the Attachment has data, it SHALL have a contentType")
		}
		if sz, ok := o["size"].(json.Number); ok {
			if c, ok := decimalCmp(sz, int64(len(raw))); ok && c != 0 {
				v.add("value", path+".size", "stated attachment size %s does not match the actual size %d of data", sz, len(raw))
			}
		}
		if h, ok := o["hash"].(string); ok {
			sum := sha1.Sum(raw)
			if hb, err := base64.StdEncoding.DecodeString(stripSpace(h)); err == nil && !bytes.Equal(hb, sum[:]) {
				v.add("value", path+".hash", "stated hash does not match the SHA-1 of data")
			}
		}
	}
}

// resourceInvariants are resource-level rules this validator evaluates.
func (v *validator) resourceInvariants(rt, path string, o Object) {
	switch rt {
	case "RiskAssessment":
		preds, _ := o["prediction"].([]any)
		for i, p := range preds {
			po, _ := p.(Object)
			if d, ok := po["probabilityDecimal"].(json.Number); ok {
				if c, ok := decimalCmp(d, 100); ok && c > 0 {
					v.add("invariant", fmt.Sprintf("%s.prediction[%d]", path, i), "ras-2: probability must be <= 100, got %s", d)
				}
			}
		}
	case "Bundle":
		entries, _ := o["entry"].([]any)
		seen := map[string]int{}
		for i, e := range entries {
			eo, _ := e.(Object)
			fu, ok := eo["fullUrl"].(string)
			if !ok {
				continue
			}
			p := fmt.Sprintf("%s.entry[%d]", path, i)
			if !strings.Contains(fu, ":") {
				v.add("invalid", p+".fullUrl", "the fullUrl must be an absolute URL (not %q)", fu)
			}
			if j, dup := seen[fu]; dup {
				v.add("invariant", p, "bdl-7: fullUrl %q is also used by entry %d", fu, j)
			}
			seen[fu] = i
		}
	case "Observation":
		// obs-6: dataAbsentReason SHALL only be present if Observation.value[x] is not.
		if _, ok := o["dataAbsentReason"]; ok {
			for k := range o {
				if strings.HasPrefix(k, "value") {
					v.add("invariant", path, "obs-6: dataAbsentReason SHALL only be present if value[x] is not")
					break
				}
			}
		}
	}
}

// narrativeElements are the XHTML elements FHIR narratives may use (txt-1).
var narrativeElements = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`a abbr acronym b big blockquote br caption cite code col colgroup dd dfn div dl dt
		em h1 h2 h3 h4 h5 h6 hr i img li ol p pre q samp small span strong sub sup table tbody td tfoot th thead tr tt ul var`) {
		narrativeElements[e] = true
	}
}

// checkXHTML enforces txt-1/txt-2: a well-formed XHTML div holding only basic formatting
// elements, no scripts, event handlers or form controls, and some text or an image.
func checkXHTML(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	depth, content := 0, false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed XHTML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if t.Name.Local != "div" || t.Name.Space != "http://www.w3.org/1999/xhtml" {
					return errors.New("the narrative must be a <div> in the XHTML namespace")
				}
			} else if !narrativeElements[t.Name.Local] {
				return fmt.Errorf("invalid element name in the XHTML (%q)", t.Name.Local)
			}
			if t.Name.Local == "img" {
				content = true
			}
			for _, a := range t.Attr {
				n := strings.ToLower(a.Name.Local)
				if strings.HasPrefix(n, "on") || (n == "href" || n == "src") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Value)), "javascript:") {
					return fmt.Errorf("attribute %q is not allowed in a narrative", a.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text outside the <div>")
			}
			if len(bytes.TrimSpace(t)) > 0 {
				content = true
			}
		case xml.ProcInst, xml.Directive:
			return errors.New("processing instructions and directives are not allowed")
		}
	}
	if !content {
		return errors.New("txt-2: the narrative SHALL have some non-whitespace content")
	}
	return nil
}
