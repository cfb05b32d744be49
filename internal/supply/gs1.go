package supply

import (
	"fmt"
	"strings"

	"github.com/ehrchain/ehrchain/internal/epcis"
)

// checkPrefix says what is wrong with a GS1 company prefix: GS1 allocates 4 to 12 digits.
func checkPrefix(p string) error {
	if len(p) < 4 || len(p) > 12 || !digits(p) {
		return fmt.Errorf("company prefix %q must be 4 to 12 digits", p)
	}
	return nil
}

// checkGLN says what is wrong with a Global Location Number: 13 digits, the last a GS1
// check digit.
func checkGLN(g string) error {
	if len(g) != 13 || !digits(g) {
		return fmt.Errorf("GLN %q must be 13 digits", g)
	}
	if c := checkDigit(g[:12]); c != g[12] {
		return fmt.Errorf("GLN %q has check digit %c, want %c", g, g[12], c)
	}
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkDigit is the GS1 mod-10 check digit of a key without it: weights 3,1,3,...
// from the right.
func checkDigit(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// companyDigits is the part of a GS1 key that begins with its company prefix, for an
// identifier in any form the standard allows (EPC URI, class or pattern URI, Digital
// Link). ok is false for what is not a GS1 key: it has no company to own it.
func companyDigits(id string) (key string, ok bool) {
	dl := epcis.NormaliseID(id)
	const root = "https://id.gs1.org/"
	if !strings.HasPrefix(dl, root) {
		return "", false
	}
	ai, rest, _ := strings.Cut(dl[len(root):], "/")
	key, _, _ = strings.Cut(rest, "/")
	switch ai {
	case "01", "00", "8003": // an indicator, extension or padding digit comes first
		if len(key) < 2 {
			return "", false
		}
		return key[1:], true
	}
	return key, key != ""
}

// owns says whether one of prefixes is the company prefix of id.
func owns(prefixes []string, id string) bool {
	key, ok := companyDigits(id)
	if !ok {
		return false
	}
	for _, p := range prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
