package supply

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Code is what a pack's 2D code carries (DSCSA's product identifier): GTIN, serial, lot
// and expiry, from a GS1 Digital Link URI or a DataMatrix element string.
type Code struct {
	GTIN   string `json:"gtin"` // 14 digits
	Serial string `json:"serial"`
	Lot    string `json:"lot,omitempty"`
	Expiry string `json:"expiry,omitempty"` // YYMMDD as printed (DD 00: the month's last day)
}

// ParseCode reads a GS1 Digital Link URI (https://<any host>/01/<GTIN>/10/<lot>/21/<serial>?17=<YYMMDD>,
// the lot optional and anywhere among the path's or query's attributes), an element
// string in parentheses ((01)<GTIN>(21)<serial>(10)<lot>(17)<YYMMDD>, any order), or the
// same without parentheses as a scanner sends it (fixed-length AIs first or not, variable
// ones ended by the group separator <GS>, 0x1D).
func ParseCode(s string) (Code, error) {
	s = strings.TrimSpace(s)
	var ais map[string]string
	var err error
	switch {
	case strings.Contains(s, "://"):
		ais, err = digitalLinkAIs(s)
	case strings.HasPrefix(s, "("):
		ais, err = bracketedAIs(s)
	default:
		ais, err = rawAIs(strings.TrimPrefix(s, "]d2"))
	}
	if err != nil {
		return Code{}, err
	}
	c := Code{GTIN: ais["01"], Serial: ais["21"], Lot: ais["10"], Expiry: ais["17"]}
	if len(c.GTIN) < 14 && digits(c.GTIN) && len(c.GTIN) >= 8 {
		c.GTIN = strings.Repeat("0", 14-len(c.GTIN)) + c.GTIN
	}
	switch {
	case len(c.GTIN) != 14 || !digits(c.GTIN):
		return Code{}, fmt.Errorf("the code has no GTIN (AI 01, 14 digits): %q", s)
	case checkDigit(c.GTIN[:13]) != c.GTIN[13]:
		return Code{}, fmt.Errorf("GTIN %s has check digit %c, want %c: the code is misread or forged", c.GTIN, c.GTIN[13], checkDigit(c.GTIN[:13]))
	case c.Serial == "":
		return Code{}, fmt.Errorf("the code has no serial number (AI 21): only a serialised pack can be verified")
	case len(c.Serial) > 20 || len(c.Lot) > 20:
		return Code{}, fmt.Errorf("a serial or lot of more than 20 characters is no GS1 AI 21 or 10")
	case c.Expiry != "" && !validYYMMDD(c.Expiry):
		return Code{}, fmt.Errorf("the expiry (AI 17) %q must be a date YYMMDD (DD 00: the month's last day)", c.Expiry)
	}
	return c, nil
}

func validYYMMDD(s string) bool {
	if len(s) != 6 || !digits(s) {
		return false
	}
	var yy, mm, dd int
	fmt.Sscanf(s, "%2d%2d%2d", &yy, &mm, &dd)
	return mm >= 1 && mm <= 12 && dd <= time.Date(2000+yy, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// fixedAI is the length of the fixed-length application identifiers a code carries.
var fixedAI = map[string]int{"01": 14, "17": 6, "11": 6, "15": 6}

func digitalLinkAIs(s string) (map[string]string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a Digital Link URI: %v", err)
	}
	ais := map[string]string{}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	start := -1
	for i, seg := range segs {
		if seg == "01" {
			start = i
			break
		}
	}
	if start < 0 || (len(segs)-start)%2 != 0 {
		return nil, fmt.Errorf("not a GS1 Digital Link of a trade item (/01/<GTIN>/...): %q", s)
	}
	for i := start; i+1 < len(segs); i += 2 {
		v, err := url.PathUnescape(segs[i+1])
		if err != nil {
			return nil, fmt.Errorf("digital link: %v", err)
		}
		ais[segs[i]] = v
	}
	for k, v := range u.Query() {
		if len(v) > 0 {
			if _, dup := ais[k]; !dup {
				ais[k] = v[0]
			}
		}
	}
	return ais, nil
}

func bracketedAIs(s string) (map[string]string, error) {
	ais := map[string]string{}
	for s != "" {
		if s[0] != '(' {
			return nil, fmt.Errorf("element string: expected (AI) at %q", s)
		}
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return nil, fmt.Errorf("element string: unclosed (AI) at %q", s)
		}
		ai := s[1:end]
		s = s[end+1:]
		next := strings.IndexByte(s, '(')
		if next < 0 {
			next = len(s)
		}
		ais[ai], s = s[:next], s[next:]
	}
	return ais, nil
}

func rawAIs(s string) (map[string]string, error) {
	const gs = "\x1d"
	ais := map[string]string{}
	for s != "" {
		if len(s) < 2 {
			return nil, fmt.Errorf("element string: a lone %q", s)
		}
		ai := s[:2]
		s = s[2:]
		if n, ok := fixedAI[ai]; ok {
			if len(s) < n {
				return nil, fmt.Errorf("element string: AI %s needs %d characters", ai, n)
			}
			ais[ai], s = s[:n], strings.TrimPrefix(s[n:], gs)
			continue
		}
		if ai != "10" && ai != "21" {
			return nil, fmt.Errorf("element string: AI %s is not read here (01, 10, 11, 15, 17, 21 are)", ai)
		}
		v, rest, _ := strings.Cut(s, gs)
		ais[ai], s = v, rest
	}
	return ais, nil
}

// ItemID is the canonical identifier of the pack the code names (its custody key).
func (c Code) ItemID() string {
	return CanonicalID("https://id.gs1.org/01/" + c.GTIN + "/21/" + url.PathEscape(c.Serial))
}

// LotID is the canonical identifier of the code's lot, or "" if it names none.
func (c Code) LotID() string {
	if c.Lot == "" {
		return ""
	}
	return CanonicalID("https://id.gs1.org/01/" + c.GTIN + "/10/" + url.PathEscape(c.Lot))
}

// ExpiryDate is the code's expiry as YYYY-MM-DD ("" if it has none). The century is
// GS1's: the one that puts the year within 49 years before and 50 after ref's year.
func (c Code) ExpiryDate(ref time.Time) string {
	if c.Expiry == "" {
		return ""
	}
	var yy, mm, dd int
	fmt.Sscanf(c.Expiry, "%2d%2d%2d", &yy, &mm, &dd)
	year := ref.Year()/100*100 + yy
	switch {
	case year-ref.Year() > 50:
		year -= 100
	case ref.Year()-year > 49:
		year += 100
	}
	last := time.Date(year, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if dd == 0 || dd > last { // 00 is the last day; a 29 February of another century too
		dd = last
	}
	return fmt.Sprintf("%04d-%02d-%02d", year, mm, dd)
}
