package epcis

import (
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaRegexp compiles the schema's patterns with Go's regexp, plus the one ECMA-262
// form the EPCIS schema needs that RE2 lacks: a whole-pattern negative lookahead at the
// start, "^(?!(X))", which matches exactly the strings that "^(X)" does not.
func schemaRegexp(pattern string) (jsonschema.Regexp, error) {
	if inner, ok := strings.CutPrefix(pattern, "^(?!("); ok && strings.HasSuffix(inner, "))") {
		re, err := regexp.Compile("^(?:" + strings.TrimSuffix(inner, "))") + ")")
		if err != nil {
			return nil, err
		}
		return negated{re, pattern}, nil
	}
	return regexp.Compile(pattern)
}

type negated struct {
	re  *regexp.Regexp
	src string
}

func (n negated) MatchString(s string) bool { return !n.re.MatchString(s) }
func (n negated) String() string            { return n.src }
