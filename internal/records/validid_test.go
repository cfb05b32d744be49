package records

import (
	"regexp"
	"strings"
	"testing"
)

// idPattern is the rule ValidID checks by hand.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// TestValidIDMatchesPattern: ValidID accepts exactly what the pattern accepts.
func TestValidIDMatchesPattern(t *testing.T) {
	cases := []string{"", "a", "Z", "0", "-a", ".a", "_a", "a-b.c_d", "a b", "a/b", "é", "aé", "a\x00",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "a" + strings.Repeat("-", 63), "r-001\n"}
	for c := 0; c < 256; c++ {
		cases = append(cases, string([]byte{byte(c)}), "a"+string([]byte{byte(c)}))
	}
	for _, s := range cases {
		if got, want := ValidID(s), idPattern.MatchString(s); got != want {
			t.Errorf("ValidID(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}

func FuzzValidID(f *testing.F) {
	f.Add("r-001")
	f.Add("-x")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidID(s), idPattern.MatchString(s); got != want {
			t.Fatalf("ValidID(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
