package supply

import (
	"fmt"
	"strings"
)

// Pattern is an EPC pattern (GS1 Tag Data Standard, urn:epc:idpat:...) as a MATCH_
// parameter gives it: every identifier of a scheme, of a company prefix, or of a class
// (a GTIN's serials, a GLN's extensions). It is matched against canonical Digital Links,
// so an event that named its EPCs in either syntax matches.
type Pattern struct {
	AI      string // the scheme's GS1 application identifier: 01 (SGTIN), 00 (SSCC), 414 (SGLN)
	Class   string // the GTIN-14 or GLN-13 for a CP.REF.* pattern; "" otherwise
	Company string // the company prefix for a CP.*.* pattern; "" otherwise
}

// String is the pattern as a Digital Link root and the digits it fixes, for messages.
func (p Pattern) String() string {
	switch {
	case p.Class != "":
		return "class " + p.AI + "/" + p.Class
	case p.Company != "":
		return "company prefix " + p.Company + " (" + p.AI + ")"
	}
	return "every " + p.AI
}

const dlRoot = "https://id.gs1.org/"

// keyDigits splits a canonical Digital Link of an SGTIN, SSCC or SGLN into its scheme's
// AI, its key's digits and what follows them (a serial, an extension); ok is false for
// every other identifier.
func keyDigits(canon string) (ai, key, rest string, ok bool) {
	s, found := strings.CutPrefix(canon, dlRoot)
	if !found {
		return "", "", "", false
	}
	ai, s, found = strings.Cut(s, "/")
	if !found {
		return "", "", "", false
	}
	key, rest, _ = strings.Cut(s, "/")
	switch {
	case ai == "01" && len(key) == 14 && strings.HasPrefix(rest, "21/") && len(rest) > 3:
	case ai == "00" && len(key) == 18 && rest == "":
	case ai == "414" && len(key) == 13 && (rest == "" || strings.HasPrefix(rest, "254/")):
	default:
		return "", "", "", false
	}
	return ai, key, rest, allDigits(key)
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// body is the run of a key's digits that begins with the company prefix: a GTIN without
// its indicator digit and check digit, an SSCC without its extension and check digits, a
// GLN without its check digit.
func body(ai, key string) string {
	switch ai {
	case "01":
		return key[1:13]
	case "00":
		return key[1:17]
	}
	return key[:12]
}

// bodyLen is the length of body for each scheme.
var bodyLen = map[string]int{"01": 12, "00": 16, "414": 12}

// Matches says whether the canonical identifier canon is one the pattern names.
func (p Pattern) Matches(canon string) bool {
	ai, key, _, ok := keyDigits(canon)
	switch {
	case !ok || ai != p.AI:
		return false
	case p.Class != "":
		return key == p.Class
	case p.Company != "":
		return strings.HasPrefix(body(ai, key), p.Company)
	}
	return true
}

// idpatSchemes are the EPC pattern schemes this node evaluates and how many fields each has.
var idpatSchemes = map[string]struct {
	ai     string
	fields int
}{"sgtin": {"01", 3}, "sscc": {"00", 2}, "sgln": {"414", 3}}

// ParseEPCValue reads one value of a MATCH_ parameter: an EPC pattern URI, the Digital
// Link of a GTIN without serial (the Digital Link form of CP.IR.*: the reference Event
// Hash ID normaliser maps the one to the other), or an exact identifier in either syntax.
// A pattern with every field given is the exact identifier. The error says what is wrong
// with the value.
func ParseEPCValue(v string) (EPCValue, error) {
	if rest, ok := strings.CutPrefix(v, "urn:epc:idpat:"); ok {
		return parseIDPat(v, rest)
	}
	if strings.Contains(v, "*") {
		return EPCValue{}, fmt.Errorf("%q has a * but is not an EPC pattern URI (urn:epc:idpat:sgtin:0614141.107346.*)", v)
	}
	c := CanonicalID(v)
	if g, ok := strings.CutPrefix(c, dlRoot+"01/"); ok && len(g) == 14 && allDigits(g) {
		return EPCValue{Pattern: &Pattern{AI: "01", Class: g}}, nil
	}
	return EPCValue{ID: c}, nil
}

func parseIDPat(v, rest string) (EPCValue, error) {
	scheme, fields, _ := strings.Cut(rest, ":")
	sc, ok := idpatSchemes[scheme]
	if !ok {
		return EPCValue{}, fmt.Errorf("%q: this node evaluates EPC patterns of sgtin, sscc and sgln", v)
	}
	parts := strings.Split(fields, ".")
	if len(parts) != sc.fields {
		return EPCValue{}, fmt.Errorf("%q: an %s pattern has %d fields separated by dots", v, scheme, sc.fields)
	}
	stars := 0
	for i, f := range parts {
		switch {
		case f == "*":
			stars++
		case stars > 0:
			return EPCValue{}, fmt.Errorf("%q: after a * every field is * (field %d is %q)", v, i+1, f)
		case f == "" || (i < len(parts)-1 && !allDigits(f)):
			return EPCValue{}, fmt.Errorf("%q: field %d must be digits", v, i+1)
		}
	}
	switch {
	case stars == 0: // every field given: one identifier
		c := CanonicalID("urn:epc:id:" + rest)
		if c == "" {
			return EPCValue{}, fmt.Errorf("%q names no valid %s", v, scheme)
		}
		return EPCValue{ID: c}, nil
	case stars == len(parts):
		return EPCValue{Pattern: &Pattern{AI: sc.ai}}, nil
	case stars == len(parts)-1:
		cp := parts[0]
		if len(cp) < 6 || len(cp) > 12 {
			return EPCValue{}, fmt.Errorf("%q: a GS1 company prefix in an EPC has 6 to 12 digits", v)
		}
		return EPCValue{Pattern: &Pattern{AI: sc.ai, Company: cp}}, nil
	}
	// CP.REF.*: one GTIN's serials or one GLN's extensions.
	probe := "urn:epc:id:" + scheme + ":" + parts[0] + "." + parts[1] + ".0"
	ai, key, _, ok := keyDigits(CanonicalID(probe))
	if !ok || len(parts[0]) < 6 {
		return EPCValue{}, fmt.Errorf("%q: the company prefix (6 to 12 digits) and reference do not make a %s (%d digits together)", v, scheme, map[string]int{"sgtin": 13, "sgln": 12}[scheme])
	}
	return EPCValue{Pattern: &Pattern{AI: ai, Class: key}}, nil
}

// EPCValue is one value of a MATCH_ parameter: an exact canonical identifier or a pattern.
type EPCValue struct {
	ID      string
	Pattern *Pattern
}

// Matches says whether canon is this value's identifier or one its pattern names.
func (e EPCValue) Matches(canon string) bool {
	if e.Pattern != nil {
		return e.Pattern.Matches(canon)
	}
	return canon == e.ID
}
