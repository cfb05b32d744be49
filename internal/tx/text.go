package tx

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TextRule is what a free-text field of a transaction (a name, a reason, a note) must be.
// Every domain checks its text fields with it, under its own codespace.
type TextRule struct {
	Required  bool // not empty or only spaces
	Max       int  // bytes; 0 is no limit beyond the transaction's
	Multiline bool // newlines and tabs allowed (free-text justifications)
}

// CheckText says what is wrong with field s under r, or "" if nothing is. Control
// characters are refused: they would reach terminals, logs and reports verbatim.
func CheckText(field, s string, r TextRule) string {
	switch {
	case r.Required && strings.TrimSpace(s) == "":
		return field + " is required"
	case r.Max > 0 && len(s) > r.Max:
		return fmt.Sprintf("%s is %d bytes; at most %d", field, len(s), r.Max)
	case !utf8.ValidString(s):
		return field + " is not valid UTF-8"
	}
	for _, c := range s {
		if (c < 0x20 || c == 0x7f) && !(r.Multiline && (c == '\n' || c == '\t' || c == '\r')) {
			return field + " contains a control character"
		}
	}
	return ""
}

// CheckText is CheckText's verdict on field s as an error of the domain's code for a
// malformed field, or nil: each domain checks its text fields with this one call.
func (c Codespace) CheckText(code uint32, field, s string, r TextRule) *Error {
	if m := CheckText(field, s, r); m != "" {
		return c.Err(code, "%s", m)
	}
	return nil
}
