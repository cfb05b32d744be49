package epcis

import "strings"

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// vocab is one CBV field's vocabulary: the IRI its bare terms expand to.
type vocab struct {
	prefix string
	terms  map[string]bool
}

var (
	vBizStep  = vocab{"https://ref.gs1.org/cbv/BizStep-", bizStepTerms}
	vDisp     = vocab{"https://ref.gs1.org/cbv/Disp-", dispositionTerms}
	vSDT      = vocab{"https://ref.gs1.org/cbv/SDT-", sourceDestTypeTerms}
	vBTT      = vocab{"https://ref.gs1.org/cbv/BTT-", bizTransactionTypeTerms}
	vMeasure  = vocab{"https://gs1.org/voc/", measurementTypeTerms}
	vExcept   = vocab{"https://gs1.org/voc/", sensorExceptionTerms}
	vComp     = vocab{"https://ref.gs1.org/cbv/Comp-", componentTerms}
	vReason   = vocab{"https://ref.gs1.org/cbv/ER-", errorReasonTerms}
	curieBase = map[string]string{"cbv": "https://ref.gs1.org/cbv/", "gs1": "https://gs1.org/voc/"}
)

func isStandardIRI(s string) bool {
	return strings.HasPrefix(s, "https://ref.gs1.org/cbv") || strings.HasPrefix(s, "https://gs1.org/voc")
}

// expandedVocabulary gathers the CBV and GS1 web-vocabulary IRIs that JSON-LD expansion
// of the document under the EPCIS 2.0 context would yield: bare terms of the typed
// fields, compact IRIs in them, and such IRIs written out in full anywhere.
func expandedVocabulary(body *value) map[string]bool {
	out := map[string]bool{}
	var walk func(v *value, scope string)
	addTerm := func(v *value, voc vocab) {
		each(v, func(s *value) {
			if s.kind != kindString {
				return
			}
			if voc.terms[s.str] {
				out[voc.prefix+s.str] = true
			} else if p, rest, ok := strings.Cut(s.str, ":"); ok && curieBase[p] != "" {
				if iri := curieBase[p] + rest; isStandardIRI(iri) {
					out[iri] = true
				}
			}
		})
	}
	walk = func(v *value, scope string) {
		switch v.kind {
		case kindString:
			if isStandardIRI(v.str) {
				out[v.str] = true
			}
		case kindArray:
			for _, it := range v.items {
				walk(it, scope)
			}
		case kindObject:
			for _, m := range v.members {
				switch {
				case m.key == "bizStep":
					addTerm(m.val, vBizStep)
				case m.key == "disposition":
					addTerm(m.val, vDisp)
				case scope == "persistentDisposition" && (m.key == "set" || m.key == "unset"):
					addTerm(m.val, vDisp)
				case (scope == "sourceList" || scope == "destinationList") && m.key == "type":
					addTerm(m.val, vSDT)
				case scope == "bizTransactionList" && m.key == "type":
					addTerm(m.val, vBTT)
				case scope == "sensorReport" && m.key == "type":
					addTerm(m.val, vMeasure)
				case scope == "sensorReport" && m.key == "exception":
					addTerm(m.val, vExcept)
				case scope == "sensorReport" && m.key == "component":
					addTerm(m.val, vComp)
				case scope == "errorDeclaration" && m.key == "reason":
					addTerm(m.val, vReason)
				}
				walk(m.val, m.key)
			}
		}
	}
	walk(body, "")
	return out
}

func each(v *value, f func(*value)) {
	if v.kind == kindArray {
		for _, it := range v.items {
			f(it)
		}
		return
	}
	f(v)
}

// replaceBareStrings rewrites every string value that names exactly one of the expanded
// IRIs by its last segment ("in_transit" for .../Disp-in_transit) into that IRI. This is
// the reference implementation's rule, applied document-wide as it applies it.
func replaceBareStrings(v *value, expanded map[string]bool) {
	switch v.kind {
	case kindString:
		var match string
		n := 0
		for x := range expanded {
			if strings.HasSuffix(x, "-"+v.str) || strings.HasSuffix(x, "/"+v.str) {
				match = x
				n++
			}
		}
		if n == 1 {
			v.str = match
		}
	case kindArray:
		for _, it := range v.items {
			replaceBareStrings(it, expanded)
		}
	case kindObject:
		for _, m := range v.members {
			replaceBareStrings(m.val, expanded)
		}
	}
}
